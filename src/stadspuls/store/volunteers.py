"""Volunteers' rows: the sealed private part, the blind cells, and what selection and retention
read. Every function takes the caller's connection, so a change and its consequences commit
together. No function returns a list of volunteers' private data: `candidates` gives sealed
blobs for the cells the selection asked for, `counts` only numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import callout_targets, callouts, volunteers
from stadspuls.volunteers.records import (
    SKILLS,
    VOLUNTEER_STATES,
    HistoryItem,
    Volunteer,
    WeeklySpan,
)

_encode = msgspec.json.Encoder().encode
_decode_spans = msgspec.json.Decoder(tuple[WeeklySpan, ...]).decode
_decode_strings = msgspec.json.Decoder(tuple[str, ...]).decode
# The columns the selection reads per candidate (never the e-mail hash).
CANDIDATE_COLUMNS = (
    volunteers.c.id,
    volunteers.c.sealed,
    volunteers.c.radius_km,
    volunteers.c.skills,
    volunteers.c.availability,
    volunteers.c.state,
)


def skill_bits(skills: Collection[str]) -> int:
    return sum(1 << SKILLS.index(s) for s in set(skills))


def skill_names(bits: int) -> tuple[str, ...]:
    return tuple(s for i, s in enumerate(SKILLS) if bits & (1 << i))


def encode_spans(spans: Sequence[WeeklySpan]) -> str:
    return _encode(tuple(spans)).decode()


def decode_spans(text: str) -> tuple[WeeklySpan, ...]:
    return _decode_spans(text)


def _maybe(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def volunteer(row: sa.RowMapping) -> Volunteer:
    """A row as a Volunteer without its private part (the caller opens `sealed` if it must)."""
    return Volunteer(
        id=int(row["id"]),
        state=row["state"],
        radius_km=float(row["radius_km"]),
        skills=skill_names(int(row["skills"])),
        availability=decode_spans(row["availability"]),
        channels=_decode_strings(row["channels"]),
        lang=row["lang"],
        consent_version=row["consent_version"],
        consent_at=from_us(row["consent_us"]),
        created_at=from_us(row["created_us"]),
        verified_at=_maybe(row["verified_us"]),
        updated_at=from_us(row["updated_us"]),
        last_called_at=_maybe(row["last_called_us"]),
    )


def insert(conn: sa.Connection, **values: object) -> int:
    """A new row; `sealed` and the cells are set by `reseal` once the id (the seal's context)
    is known, in the same transaction."""
    values.setdefault("sealed", "")
    values.setdefault("cell", "")
    values.setdefault("cell_coarse", "")
    key = conn.execute(sa.insert(volunteers).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def update(conn: sa.Connection, volunteer_id: int, **values: object) -> bool:
    result = conn.execute(
        sa.update(volunteers).where(volunteers.c.id == volunteer_id).values(**values)
    )
    return result.rowcount > 0


def row(conn: sa.Connection, volunteer_id: int) -> sa.RowMapping | None:
    return (
        conn.execute(sa.select(volunteers).where(volunteers.c.id == volunteer_id))
        .mappings()
        .first()
    )


def rows(conn: sa.Connection, volunteer_ids: Collection[int]) -> list[sa.RowMapping]:
    if not volunteer_ids:
        return []
    query = sa.select(volunteers).where(volunteers.c.id.in_(sorted(set(volunteer_ids))))
    return list(conn.execute(query).mappings())


def id_by(conn: sa.Connection, column: str, value: str) -> int | None:
    """The id of the row whose `email_hash` or `verify_hash` is `value`."""
    found = conn.execute(
        sa.select(volunteers.c.id).where(volunteers.c[column] == value)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def delete(conn: sa.Connection, volunteer_ids: Collection[int]) -> int:
    """Delete volunteers; their call-out targets stay, linked to nobody."""
    if not volunteer_ids:
        return 0
    ids = sorted(set(volunteer_ids))
    conn.execute(
        sa.update(callout_targets)
        .where(callout_targets.c.volunteer_id.in_(ids))
        .values(volunteer_id=None)
    )
    return conn.execute(sa.delete(volunteers).where(volunteers.c.id.in_(ids))).rowcount


def counts(conn: sa.Connection) -> dict[str, int]:
    query = sa.select(volunteers.c.state, sa.func.count()).group_by(volunteers.c.state)
    found = {state: int(n) for state, n in conn.execute(query)}
    return {state: found.get(state, 0) for state in VOLUNTEER_STATES}


def candidates(conn: sa.Connection, column: str, hashes: Sequence[str]) -> list[sa.Row[Any]]:
    """The selection's read: the rows whose fine (`cell`) or coarse cell is one of `hashes`."""
    if not hashes:
        return []
    query = sa.select(*CANDIDATE_COLUMNS).where(volunteers.c[column].in_(hashes))
    return list(conn.execute(query))


def calls_since(
    conn: sa.Connection, volunteer_ids: Collection[int], since: datetime
) -> dict[int, int]:
    """How often each volunteer was selected for a call-out since `since`."""
    if not volunteer_ids:
        return {}
    query = (
        sa.select(callout_targets.c.volunteer_id, sa.func.count())
        .where(
            callout_targets.c.volunteer_id.in_(sorted(set(volunteer_ids))),
            callout_targets.c.selected_us >= to_us(since),
        )
        .group_by(callout_targets.c.volunteer_id)
    )
    return {int(v): int(n) for v, n in conn.execute(query)}


def history(conn: sa.Connection, volunteer_id: int) -> list[HistoryItem]:
    query = (
        sa.select(
            callout_targets.c.callout_id,
            callouts.c.title,
            callouts.c.state,
            callout_targets.c.selected_us,
            callout_targets.c.distance_m,
            callout_targets.c.reached,
            callout_targets.c.answer,
        )
        .join(callouts, callouts.c.id == callout_targets.c.callout_id)
        .where(callout_targets.c.volunteer_id == volunteer_id)
        .order_by(callout_targets.c.selected_us.desc(), callout_targets.c.id.desc())
    )
    return [
        HistoryItem(
            callout_id=int(r.callout_id),
            title=r.title,
            at=from_us(r.selected_us),
            distance_m=int(r.distance_m),
            reached=_decode_strings(r.reached),
            answer=r.answer,
            state=r.state,
        )
        for r in conn.execute(query)
    ]


def ids_where(conn: sa.Connection, *conditions: sa.ColumnElement[bool]) -> list[int]:
    query = sa.select(volunteers.c.id).where(*conditions).order_by(volunteers.c.id)
    return [int(v) for v in conn.execute(query).scalars()]


def stale_unconfirmed(conn: sa.Connection, before: datetime) -> list[int]:
    return ids_where(conn, volunteers.c.state == "pending", volunteers.c.created_us < to_us(before))


def inactive(conn: sa.Connection, before: datetime) -> list[int]:
    """Confirmed volunteers not heard of (no change, no visit of their page) since `before`."""
    return ids_where(conn, volunteers.c.state != "pending", volunteers.c.updated_us < to_us(before))


def delete_ended_callouts(conn: sa.Connection, before: datetime) -> int:
    """Call-outs (their targets, events and notifications cascade) that ended before `before`."""
    ended = sa.func.coalesce(callouts.c.closed_us, callouts.c.expires_us)
    query = sa.delete(callouts).where(callouts.c.state != "open", ended < to_us(before))
    return conn.execute(query).rowcount
