"""Calls for tips ("oproepen"), each with its public page /oproep/<slug>."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from stadspuls.cases.records import Call, CallQuestion
from stadspuls.records import utcnow
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import calls

_encode = msgspec.json.Encoder().encode
_questions = msgspec.json.Decoder(tuple[CallQuestion, ...]).decode


class CallExists(ValueError):
    """Another call has this slug."""


def _row(row: sa.RowMapping) -> Call:
    return Call(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        department_id=row["department_id"],
        monitor_id=row["monitor_id"],
        questions=_questions(row["questions"]),
        starts_at=from_us(row["starts_us"]),
        ends_at=None if row["ends_us"] is None else from_us(row["ends_us"]),
        lat=row["lat"],
        lon=row["lon"],
        incident_at=None if row["incident_us"] is None else from_us(row["incident_us"]),
        created_by=row["created_by"],
        created_at=from_us(row["created_us"]),
        closed=bool(row["closed"]),
    )


def save(conn: sa.Connection, call: Call) -> Call:
    """Insert (no id) or update (id) a call; `created_by`/`created_at` are kept on update."""
    values: dict[str, object] = {
        "slug": call.slug,
        "title": call.title,
        "description": call.description,
        "department_id": call.department_id,
        "monitor_id": call.monitor_id,
        "questions": _encode(call.questions).decode(),
        "starts_us": to_us(call.starts_at),
        "ends_us": None if call.ends_at is None else to_us(call.ends_at),
        "lat": call.lat,
        "lon": call.lon,
        "incident_us": None if call.incident_at is None else to_us(call.incident_at),
        "closed": call.closed,
    }
    try:
        if call.id is None:
            result = conn.execute(
                calls.insert().values(
                    **values, created_by=call.created_by, created_us=to_us(utcnow())
                )
            )
            call_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        else:
            conn.execute(calls.update().where(calls.c.id == call.id).values(**values))
            call_id = call.id
    except sa.exc.IntegrityError as error:
        raise CallExists(f"a call with the address {call.slug!r} exists") from error
    found = get(conn, call_id)
    if found is None:
        raise LookupError(f"no call {call_id}")
    return found


def get(conn: sa.Connection, call_id: int) -> Call | None:
    row = conn.execute(sa.select(calls).where(calls.c.id == call_id)).mappings().first()
    return None if row is None else _row(row)


def by_slug(conn: sa.Connection, slug: str) -> Call | None:
    row = conn.execute(sa.select(calls).where(calls.c.slug == slug)).mappings().first()
    return None if row is None else _row(row)


def list_all(conn: sa.Connection, *, department_ids: list[int] | None = None) -> list[Call]:
    """Newest start first; with `department_ids`, only those departments' calls."""
    query = sa.select(calls).order_by(calls.c.starts_us.desc(), calls.c.id.desc())
    if department_ids is not None:
        query = query.where(calls.c.department_id.in_(department_ids))
    return [_row(row) for row in conn.execute(query).mappings()]
