from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa
from fastapi import APIRouter, Request

from stadspuls.store import migrate
from stadspuls.store.posts import count_all
from stadspuls.web.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def get_health(request: Request) -> Health:
    engine: sa.Engine = request.app.state.engine
    collector = request.app.state.collector
    sources: dict[str, dict[str, int | str | None]] = {}
    if collector is not None:
        for source in collector.sources:
            stats = asdict(source.stats)
            stats.pop("extra", None)
            stats.pop("skipped_by_kind", None)
            sources[source.name] = stats
    return Health(
        status="ok",
        database=engine.dialect.name,
        schema_revision=migrate.current_revision(engine),
        posts=count_all(engine),
        collecting=collector is not None and bool(collector.sources),
        sources=sources,
    )
