"""Cases, their sealed contacts and their history (the conversation and its outbox are in
`store/case_messages.py`). Every function takes the caller's connection, so that a change and
its history rows commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import sqlalchemy as sa

from stadspuls.cases.records import Case, CaseEvent
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import (
    case_contacts,
    case_events,
    case_messages,
    cases,
    departments,
    media,
)

Details = dict[str, str | int | float | bool | None]
_encode = msgspec.json.Encoder().encode
_decode_details = msgspec.json.Decoder(Details).decode
_decode_answers = msgspec.json.Decoder(dict[str, str]).decode


def reference(year: int, case_id: int) -> str:
    return f"SP-{year}-{case_id:06d}"


def _maybe(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


_HAS_CONTACT = (
    sa.select(case_contacts.c.case_id)
    .where(case_contacts.c.case_id == cases.c.id)
    .exists()
    .label("has_contact")
)
_MEDIA_COUNT = (
    sa.select(sa.func.count())
    .select_from(media)
    .where(media.c.case_id == cases.c.id)
    .scalar_subquery()
    .label("media_count")
)
_SELECT = sa.select(cases, _HAS_CONTACT, _MEDIA_COUNT)


def _case(row: sa.RowMapping) -> Case:
    return Case(
        id=int(row["id"]),
        reference=row["reference"] or "",
        channel=row["channel"],
        kind=row["kind"],
        state=row["state"],
        department_id=int(row["department_id"]),
        rule_id=row["rule_id"],
        route_explanation=row["route_explanation"],
        assignee_id=row["assignee_id"],
        call_id=row["call_id"],
        subject=row["subject"],
        text=row["text"],
        language=row["language"],
        category=row["category"],
        lat=row["lat"],
        lon=row["lon"],
        address=row["address"],
        place_code=row["place_code"],
        place_name=row["place_name"],
        occurred_at=_maybe(row["occurred_us"]),
        answers=_decode_answers(row["answers"]),
        has_contact=bool(row["has_contact"]),
        media_count=int(row["media_count"]),
        created_at=from_us(row["created_us"]),
        updated_at=from_us(row["updated_us"]),
        first_response_at=_maybe(row["first_response_us"]),
        closed_at=_maybe(row["closed_us"]),
        first_response_due=_maybe(row["first_response_due_us"]),
        resolution_due=_maybe(row["resolution_due_us"]),
    )


def insert(conn: sa.Connection, case: Case, *, status_token_hash: str | None = None) -> Case:
    """Insert `case` (its id and reference are assigned here) and return it as stored."""
    result = conn.execute(
        cases.insert().values(
            channel=case.channel,
            kind=case.kind,
            state=case.state,
            department_id=case.department_id,
            rule_id=case.rule_id,
            route_explanation=case.route_explanation,
            assignee_id=case.assignee_id,
            call_id=case.call_id,
            subject=case.subject,
            text=case.text,
            language=case.language,
            category=case.category,
            lat=case.lat,
            lon=case.lon,
            address=case.address,
            place_code=case.place_code,
            place_name=case.place_name,
            occurred_us=None if case.occurred_at is None else to_us(case.occurred_at),
            answers=_encode(case.answers).decode(),
            status_token_hash=status_token_hash,
            created_us=to_us(case.created_at),
            updated_us=to_us(case.updated_at),
            first_response_due_us=_us(case.first_response_due),
            resolution_due_us=_us(case.resolution_due),
        )
    )
    case_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    conn.execute(
        cases.update()
        .where(cases.c.id == case_id)
        .values(reference=reference(case.created_at.year, case_id))
    )
    found = get(conn, case_id)
    assert found is not None
    return found


def _us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def get(conn: sa.Connection, case_id: int) -> Case | None:
    row = conn.execute(_SELECT.where(cases.c.id == case_id)).mappings().first()
    return None if row is None else _case(row)


def by_token_hash(conn: sa.Connection, token_hash: str) -> Case | None:
    row = conn.execute(_SELECT.where(cases.c.status_token_hash == token_hash)).mappings().first()
    return None if row is None else _case(row)


def update(conn: sa.Connection, case_id: int, **values: object) -> Case:
    """Change columns of a case (times as microseconds); returns the case as it is now."""
    conn.execute(cases.update().where(cases.c.id == case_id).values(**values))
    found = get(conn, case_id)
    assert found is not None
    return found


def _overdue(now_us: int) -> sa.ColumnElement[bool]:
    first = sa.and_(
        cases.c.first_response_us.is_(None),
        cases.c.first_response_due_us.is_not(None),
        cases.c.first_response_due_us < now_us,
    )
    resolution = sa.and_(cases.c.resolution_due_us.is_not(None), cases.c.resolution_due_us < now_us)
    return sa.and_(cases.c.state != "closed", sa.or_(first, resolution))


def _visible(
    query: sa.Select[tuple[object, ...]], department_ids: Sequence[int] | None
) -> sa.Select[tuple[object, ...]]:
    if department_ids is None:
        return query
    return query.where(cases.c.department_id.in_(list(department_ids)))


def list_cases(
    conn: sa.Connection,
    *,
    department_ids: Sequence[int] | None,
    now_us: int,
    states: Sequence[str] | None = None,
    department_id: int | None = None,
    assignee_id: int | None = None,
    call_id: int | None = None,
    overdue: bool = False,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Case]:
    """Newest first. `department_ids` None: every department (an admin)."""
    query = _visible(_SELECT, department_ids)
    if states:
        query = query.where(cases.c.state.in_(list(states)))
    if department_id is not None:
        query = query.where(cases.c.department_id == department_id)
    if assignee_id is not None:
        query = query.where(cases.c.assignee_id == assignee_id)
    if call_id is not None:
        query = query.where(cases.c.call_id == call_id)
    if overdue:
        query = query.where(_overdue(now_us))
    if before_id is not None:
        query = query.where(cases.c.id < before_id)
    query = query.order_by(cases.c.id.desc()).limit(limit)
    return [_case(row) for row in conn.execute(query).mappings()]


def counts(
    conn: sa.Connection,
    *,
    department_ids: Sequence[int] | None,
    now_us: int,
    department_id: int | None = None,
) -> dict[str, int]:
    base = sa.select(cases.c.state, sa.func.count()).group_by(cases.c.state)
    overdue = sa.select(sa.func.count()).select_from(cases).where(_overdue(now_us))
    if department_ids is not None:
        base = base.where(cases.c.department_id.in_(list(department_ids)))
        overdue = overdue.where(cases.c.department_id.in_(list(department_ids)))
    if department_id is not None:
        base = base.where(cases.c.department_id == department_id)
        overdue = overdue.where(cases.c.department_id == department_id)
    found = {state: int(n) for state, n in conn.execute(base)}
    found["overdue"] = int(conn.execute(overdue).scalar_one())
    return found


# -- contacts ----------------------------------------------------------------------------------


def save_contact(conn: sa.Connection, case_id: int, sealed: str) -> None:
    conn.execute(case_contacts.insert().values(case_id=case_id, sealed=sealed))


def sealed_contact(conn: sa.Connection, case_id: int) -> str | None:
    value: str | None = conn.execute(
        sa.select(case_contacts.c.sealed).where(case_contacts.c.case_id == case_id)
    ).scalar_one_or_none()
    return value


# -- history -----------------------------------------------------------------------------------


def add_event(
    conn: sa.Connection,
    case_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    details: Details | None = None,
) -> CaseEvent:
    result = conn.execute(
        case_events.insert().values(
            case_id=case_id,
            at_us=to_us(at),
            actor=actor,
            kind=kind,
            details=_encode(details or {}).decode(),
        )
    )
    return CaseEvent(
        id=int(result.inserted_primary_key[0]),  # type: ignore[index]
        case_id=case_id,
        at=at,
        actor=actor,
        kind=kind,
        details=details or {},
    )


def events_of(conn: sa.Connection, case_id: int) -> list[CaseEvent]:
    query = (
        sa.select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
    )
    return [
        CaseEvent(
            id=int(row["id"]),
            case_id=int(row["case_id"]),
            at=from_us(row["at_us"]),
            actor=row["actor"],
            kind=row["kind"],
            details=_decode_details(row["details"]),
        )
        for row in conn.execute(query).mappings()
    ]


# -- retention ---------------------------------------------------------------------------------


def expired(conn: sa.Connection, now_us: int, *, limit: int = 1000) -> list[int]:
    """Closed cases whose department's retention period has passed since closing."""
    day_us = 86_400 * 1_000_000
    query = (
        sa.select(cases.c.id)
        .join(departments, departments.c.id == cases.c.department_id)
        .where(
            cases.c.state == "closed",
            cases.c.closed_us.is_not(None),
            # BigInteger: retention_days is an INTEGER column, and days in microseconds are not.
            cases.c.closed_us
            + sa.cast(departments.c.retention_days, sa.BigInteger)
            * sa.literal(day_us, sa.BigInteger)
            <= now_us,
        )
        .order_by(cases.c.id)
        .limit(limit)
    )
    return [int(value) for value in conn.execute(query).scalars()]


def delete(conn: sa.Connection, case_ids: Sequence[int]) -> list[str]:
    """Delete cases with everything that hangs off them; returns the SHA-256 of their media
    (the caller removes the files no remaining row uses). Children go first, explicitly:
    the foreign keys cascade too, but a SQLite connection without `foreign_keys=ON` would not."""
    ids = list(case_ids)
    if not ids:
        return []
    hashes = sorted(
        set(conn.execute(sa.select(media.c.sha256).where(media.c.case_id.in_(ids))).scalars())
    )
    for table in (media, case_events, case_messages, case_contacts):
        conn.execute(table.delete().where(table.c.case_id.in_(ids)))
    conn.execute(cases.delete().where(cases.c.id.in_(ids)))
    return hashes
