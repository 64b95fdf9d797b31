"""The `source_status` table: the state of each stream as the collector last wrote it, read by
`/health` and `stadspuls sources list` (which runs in another process than the collector)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from stadspuls.sources.status import StatusRow
from stadspuls.store.schema import source_status


def _us(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1_000_000)


def _s(us: int | None) -> float | None:
    return None if us is None else us / 1_000_000


def save_status(engine: sa.Engine, rows: Sequence[StatusRow]) -> None:
    """Insert or overwrite the rows (one per stream) in one transaction."""
    if not rows:
        return
    values = [
        {
            "source": row.source,
            "state": row.state,
            "last_success_us": _us(row.last_success),
            "last_error": row.last_error,
            "last_error_us": _us(row.last_error_at),
            "error_count": row.error_count,
            "next_retry_us": _us(row.next_retry),
            "updated_us": _us(row.updated),
        }
        for row in rows
    ]
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
    statement = insert(source_status)
    upsert = statement.on_conflict_do_update(
        index_elements=[source_status.c.source],
        set_={name: statement.excluded[name] for name in values[0] if name != "source"},
    )
    with engine.begin() as conn:
        conn.execute(upsert, values)


def load_status(engine: sa.Engine) -> list[StatusRow]:
    """Every stored stream status, by stream name."""
    with engine.connect() as conn:
        result = conn.execute(sa.select(source_status).order_by(source_status.c.source))
        return [
            StatusRow(
                source=row.source,
                state=row.state,
                last_success=_s(row.last_success_us),
                last_error=row.last_error,
                last_error_at=_s(row.last_error_us),
                error_count=int(row.error_count),
                next_retry=_s(row.next_retry_us),
                updated=_s(row.updated_us) or 0.0,
            )
            for row in result
        ]
