from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import APIRouter, Request

from stadspuls.sources.status import StatusRow
from stadspuls.store import migrate
from stadspuls.store.consumers import consumer_statuses
from stadspuls.store.posts import count_all
from stadspuls.store.status import load_status
from stadspuls.web.schemas import ConsumerHealth, Health, StreamHealth

router = APIRouter(tags=["health"])

COUNTERS = ("received", "posts", "deletions", "malformed", "skipped", "reconnects")


def _time(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _stream(row: StatusRow) -> StreamHealth:
    return StreamHealth(
        source=row.source,
        state=row.state,
        last_success=_time(row.last_success),
        last_error=row.last_error,
        last_error_at=_time(row.last_error_at),
        error_count=row.error_count,
        next_retry=_time(row.next_retry),
        updated=_time(row.updated) or datetime.fromtimestamp(0, UTC),
    )


@router.get("/health", response_model=Health)
def get_health(request: Request) -> Health:
    engine: sa.Engine = request.app.state.engine
    collector = request.app.state.collector
    collecting = collector is not None and bool(collector.sources)
    sources: dict[str, dict[str, int | str | None]] = {}
    # The live view when this process collects; otherwise what the collector last stored
    # (`stadspuls run --no-collect` beside a collecting process, or after a restart).
    rows = collector.statuses() if collecting else load_status(engine)
    for source in collector.sources if collecting else ():
        counts: dict[str, int | str | None] = {
            name: getattr(source.stats, name) for name in COUNTERS
        }
        counts["last_error"] = source.stats.last_error
        sources[source.name] = counts
    return Health(
        status="ok",
        database=engine.dialect.name,
        schema_revision=migrate.current_revision(engine),
        posts=count_all(engine),
        collecting=collecting,
        sources=sources,
        streams=[_stream(row) for row in rows],
        consumers=[
            ConsumerHealth(
                name=c.name,
                last_pk=c.last_pk,
                lag=c.lag,
                failures=c.failures,
                last_error=c.last_error,
                last_error_at=c.last_error_at,
            )
            for c in consumer_statuses(engine)
        ],
    )
