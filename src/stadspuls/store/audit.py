"""The append-only audit log: who saw post texts, who re-identified whom, who changed what.

`record` writes through the caller's connection, so an audited read or change and its entry
commit together. The database refuses UPDATE and DELETE on `audit_log` (migration 0005).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import sqlalchemy as sa

from stadspuls.records import Actor, AuditEntry, utcnow
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import audit_log

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, str | int | float | bool | None]).decode


def record(conn: sa.Connection, entry: AuditEntry) -> int:
    """Append `entry` (its `id` is ignored) and return its id."""
    result = conn.execute(
        audit_log.insert().values(
            at_us=to_us(entry.at),
            actor=entry.actor,
            user_id=entry.user_id,
            role=entry.role,
            action=entry.action,
            monitor_id=entry.monitor_id,
            query=entry.query,
            posts=entry.posts,
            reason=entry.reason,
            details=None if entry.details is None else _encode(entry.details).decode(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def record_action(
    conn: sa.Connection,
    actor: Actor,
    action: str,
    *,
    monitor_id: int | None = None,
    query: str | None = None,
    posts: int = 0,
    reason: str | None = None,
    details: dict[str, str | int | float | bool | None] | None = None,
) -> int:
    """Append what `actor` did now (the audit row of a read or a change in this transaction)."""
    return record(
        conn,
        AuditEntry(
            at=utcnow(),
            actor=actor.username,
            user_id=actor.user_id,
            role=actor.role,
            action=action,
            monitor_id=monitor_id,
            query=query,
            posts=posts,
            reason=reason,
            details=details,
        ),
    )


def _row_to_entry(row: sa.RowMapping) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=from_us(row["at_us"]),
        actor=row["actor"],
        user_id=row["user_id"],
        role=row["role"],
        action=row["action"],
        monitor_id=row["monitor_id"],
        query=row["query"],
        posts=row["posts"],
        reason=row["reason"],
        details=None if row["details"] is None else _decode(row["details"]),
    )


def list_entries(
    bind: sa.Engine | sa.Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    actions: Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[AuditEntry]]:
    """(total, entries) matching the filters, newest first."""
    where: list[sa.ColumnElement[bool]] = []
    if since is not None:
        where.append(audit_log.c.at_us >= to_us(since))
    if until is not None:
        where.append(audit_log.c.at_us < to_us(until))
    if actor is not None:
        where.append(audit_log.c.actor == actor)
    if actions:
        where.append(audit_log.c.action.in_(list(actions)))
    query = sa.select(audit_log).where(*where).order_by(audit_log.c.id.desc())
    count = sa.select(sa.func.count()).select_from(audit_log).where(*where)
    with bind.connect() if isinstance(bind, sa.Engine) else _borrowed(bind) as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
    return total, [_row_to_entry(row) for row in rows]


class _borrowed:
    """A caller's connection used as a context manager without closing it."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sa.Connection:
        return self._conn

    def __exit__(self, *_: object) -> None:
        return None
