"""File imports: who imported what, for which purpose, and how long its posts are kept.

An import is a deliberate act: it records its purpose, legal basis and retention period, and
its posts point to it through `posts.import_id`. The retention period counts from the start of
the import (not from the posts' own dates, which may be years old).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from stadspuls.records import utcnow
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import imports

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class Import:
    id: int
    started_at: datetime
    finished_at: datetime | None
    owner: str
    purpose: str
    legal_basis: str
    retention_days: int
    files: list[dict[str, Any]]

    @property
    def keep_until(self) -> datetime:
        """Its posts are kept at least until then (longer where a monitor covers them)."""
        return self.started_at + timedelta(days=self.retention_days)


def start_import(
    engine: sa.Engine,
    *,
    owner: str,
    purpose: str,
    legal_basis: str,
    retention_days: int,
    started_at: datetime | None = None,
) -> Import:
    started = started_at or utcnow()
    with engine.begin() as conn:
        key = conn.execute(
            imports.insert().values(
                started_us=to_us(started),
                owner=owner,
                purpose=purpose,
                legal_basis=legal_basis,
                retention_days=retention_days,
                files="[]",
            )
        ).inserted_primary_key
    if key is None or key[0] is None:
        raise RuntimeError("the database returned no id for the new import")
    found = get_import(engine, int(key[0]))
    assert found is not None
    return found


def record_files(
    engine: sa.Engine, import_id: int, files: list[dict[str, Any]], *, finished: bool = False
) -> None:
    """Store the per-file report so far (after each file, so a crash keeps what was done)."""
    values: dict[str, Any] = {"files": json.dumps(files)}
    if finished:
        values["finished_us"] = to_us(utcnow())
    with engine.begin() as conn:
        conn.execute(imports.update().where(imports.c.id == import_id).values(**values))


def get_import(engine: sa.Engine, import_id: int) -> Import | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(imports).where(imports.c.id == import_id)).first()
    if row is None:
        return None
    return Import(
        id=int(row.id),
        started_at=from_us(row.started_us),
        finished_at=None if row.finished_us is None else from_us(row.finished_us),
        owner=row.owner,
        purpose=row.purpose,
        legal_basis=row.legal_basis,
        retention_days=int(row.retention_days),
        files=json.loads(row.files),
    )


def keep_until_us(table: sa.Table | Any = imports) -> sa.ColumnElement[int]:
    """started_us + retention_days in microseconds: the end of an import's period."""
    return table.c.started_us + table.c.retention_days * sa.literal(DAY_US, sa.BigInteger())


__all__ = ["DAY_US", "Import", "get_import", "keep_until_us", "record_files", "start_import"]
