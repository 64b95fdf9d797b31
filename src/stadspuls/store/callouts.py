"""Call-outs, their targets and their log: rows <-> records (volunteers/records.py).

Times are integer microseconds (UTC); skills are a bit mask over `SKILLS`; the log
(`callout_events`) is append-only: rows are inserted, never updated (a trigger refuses it on
PostgreSQL), and go only with their call-out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import callout_events, callout_targets, callouts, volunteers
from stadspuls.volunteers.records import SKILLS, CallOut, CallOutEvent, Candidate, Target

_encode = msgspec.json.Encoder().encode
_decode_details = msgspec.json.Decoder(dict[str, Any]).decode
_decode_strings = msgspec.json.Decoder(tuple[str, ...]).decode


def skills_mask(skills: Iterable[str]) -> int:
    mask = 0
    for skill in skills:
        mask |= 1 << SKILLS.index(skill)
    return mask


def skills_of(mask: int) -> tuple[str, ...]:
    return tuple(skill for i, skill in enumerate(SKILLS) if mask & (1 << i))


def _maybe(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


def _callout(row: sa.RowMapping) -> CallOut:
    return CallOut(
        id=int(row["id"]),
        title=row["title"],
        message=row["message"],
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        place_label=row["place_label"],
        radius_km=float(row["radius_km"]),
        skills=skills_of(int(row["skills"])),
        wanted=int(row["wanted"]),
        expires_at=from_us(int(row["expires_us"])),
        alert_id=row["alert_id"],
        state=row["state"],
        created_by=row["created_by"],
        created_at=from_us(int(row["created_us"])),
        closed_by=row["closed_by"],
        closed_at=_maybe(row["closed_us"]),
    )


def insert(conn: sa.Connection, callout: CallOut, *, created_by: str, now_us: int) -> CallOut:
    values = {
        "title": callout.title,
        "message": callout.message,
        "lat": callout.lat,
        "lon": callout.lon,
        "place_label": callout.place_label,
        "radius_km": callout.radius_km,
        "skills": skills_mask(callout.skills),
        "wanted": callout.wanted,
        "expires_us": to_us(callout.expires_at),
        "alert_id": callout.alert_id,
        "state": "open",
        "created_by": created_by,
        "created_us": now_us,
    }
    new_id = conn.execute(callouts.insert().values(**values).returning(callouts.c.id)).scalar_one()
    found = get(conn, int(new_id))
    assert found is not None
    return found


def get(conn: sa.Connection, callout_id: int) -> CallOut | None:
    row = conn.execute(sa.select(callouts).where(callouts.c.id == callout_id)).mappings().first()
    return None if row is None else _callout(row)


def recent(conn: sa.Connection, *, state: str | None, limit: int) -> list[CallOut]:
    query = sa.select(callouts).order_by(callouts.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(callouts.c.state == state)
    return [_callout(row) for row in conn.execute(query).mappings()]


def set_state(
    conn: sa.Connection,
    callout_id: int,
    state: str,
    *,
    by: str | None,
    now_us: int,
    only_from: str = "open",
) -> bool:
    """Move an open call-out to `state`; False when it was not open (any more)."""
    done = conn.execute(
        callouts.update()
        .where(callouts.c.id == callout_id, callouts.c.state == only_from)
        .values(state=state, closed_by=by, closed_us=now_us)
    )
    return bool(done.rowcount)


def due_to_expire(conn: sa.Connection, now_us: int, *, limit: int = 1000) -> list[int]:
    query = (
        sa.select(callouts.c.id)
        .where(callouts.c.state == "open", callouts.c.expires_us <= now_us)
        .order_by(callouts.c.expires_us)
        .limit(limit)
    )
    return [int(i) for i in conn.execute(query).scalars()]


# -- targets -----------------------------------------------------------------------------


def _target(row: sa.RowMapping) -> Target:
    return Target(
        id=int(row["id"]),
        callout_id=int(row["callout_id"]),
        rank=int(row["rank"]),
        volunteer_id=None if row["volunteer_id"] is None else int(row["volunteer_id"]),
        distance_m=int(row["distance_m"]),
        skills=skills_of(int(row["skills"])),
        reason=row["reason"],
        selected_at=from_us(int(row["selected_us"])),
        reached=_decode_strings(row["reached"]),
        answer=row["answer"],
        answered_at=_maybe(row["answered_us"]),
        arrived_at=_maybe(row["arrived_us"]),
    )


def add_targets(
    conn: sa.Connection,
    callout_id: int,
    chosen: list[tuple[Candidate, str]],
    *,
    now_us: int,
) -> list[Target]:
    """Store the selected candidates (with why), ranked after those already there; mark the
    volunteers called now (their daily limit counts targets, `last_called_us` is for retention)."""
    if not chosen:
        return []
    last = conn.execute(
        sa.select(sa.func.max(callout_targets.c.rank)).where(
            callout_targets.c.callout_id == callout_id
        )
    ).scalar()
    first = int(last or 0) + 1
    conn.execute(
        callout_targets.insert(),
        [
            {
                "callout_id": callout_id,
                "volunteer_id": candidate.volunteer_id,
                "rank": first + i,
                "distance_m": candidate.distance_m,
                "skills": skills_mask(candidate.skills),
                "reason": reason[:300],
                "selected_us": now_us,
            }
            for i, (candidate, reason) in enumerate(chosen)
        ],
    )
    conn.execute(
        volunteers.update()
        .where(volunteers.c.id.in_([c.volunteer_id for c, _ in chosen]))
        .values(last_called_us=now_us)
    )
    query = (
        sa.select(callout_targets)
        .where(callout_targets.c.callout_id == callout_id, callout_targets.c.rank >= first)
        .order_by(callout_targets.c.rank)
    )
    return [_target(row) for row in conn.execute(query).mappings()]


def targets_of(conn: sa.Connection, callout_id: int) -> list[Target]:
    query = (
        sa.select(callout_targets)
        .where(callout_targets.c.callout_id == callout_id)
        .order_by(callout_targets.c.rank)
    )
    return [_target(row) for row in conn.execute(query).mappings()]


def target(conn: sa.Connection, target_id: int, *, for_update: bool = False) -> Target | None:
    query = sa.select(callout_targets).where(callout_targets.c.id == target_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else _target(row)


def selected_volunteers(conn: sa.Connection, callout_id: int) -> set[int]:
    query = sa.select(callout_targets.c.volunteer_id).where(
        callout_targets.c.callout_id == callout_id, callout_targets.c.volunteer_id.is_not(None)
    )
    return {int(i) for i in conn.execute(query).scalars()}


def record_answer(conn: sa.Connection, target_id: int, answer: str, now_us: int) -> None:
    values: dict[str, object] = {"answer": answer, "answered_us": now_us}
    if answer == "arrived":
        values["arrived_us"] = now_us
    conn.execute(callout_targets.update().where(callout_targets.c.id == target_id).values(values))


def add_reached(conn: sa.Connection, target_id: int, channel: str) -> None:
    """Add a channel to the target's reached ones (read and written under a row lock)."""
    found = target(conn, target_id, for_update=True)
    if found is None or channel in found.reached:
        return
    conn.execute(
        callout_targets.update()
        .where(callout_targets.c.id == target_id)
        .values(reached=_encode(sorted({*found.reached, channel})).decode())
    )


def channels_of(conn: sa.Connection, volunteer_ids: Collection[int]) -> dict[int, tuple[str, ...]]:
    """The channels each volunteer chose (plain columns: no sealed data is opened here)."""
    if not volunteer_ids:
        return {}
    query = sa.select(volunteers.c.id, volunteers.c.channels).where(
        volunteers.c.id.in_(list(volunteer_ids))
    )
    return {int(row.id): _decode_strings(row.channels) for row in conn.execute(query)}


# -- the log -----------------------------------------------------------------------------


def add_event(
    conn: sa.Connection,
    callout_id: int,
    kind: str,
    *,
    actor: str,
    now_us: int,
    details: Mapping[str, object] | None = None,
) -> None:
    conn.execute(
        callout_events.insert().values(
            callout_id=callout_id,
            at_us=now_us,
            actor=actor,
            kind=kind,
            details=_encode(dict(details or {})).decode(),
        )
    )


def events_of(conn: sa.Connection, callout_id: int, *, after_id: int = 0) -> list[CallOutEvent]:
    query = (
        sa.select(callout_events)
        .where(callout_events.c.callout_id == callout_id, callout_events.c.id > after_id)
        .order_by(callout_events.c.id)
    )
    return [
        CallOutEvent(
            id=int(row["id"]),
            callout_id=int(row["callout_id"]),
            at=from_us(int(row["at_us"])),
            actor=row["actor"],
            kind=row["kind"],
            details=_decode_details(row["details"]),
        )
        for row in conn.execute(query).mappings()
    ]
