"""Departments and who works in them (the inbox's units of routing, office hours and access).

Routing rules, templates and calls have their own store modules; this one holds the department
rows and the membership table.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import sqlalchemy as sa

from stadspuls.cases.records import Department, OfficeHours
from stadspuls.records import utcnow
from stadspuls.store.rows import to_us
from stadspuls.store.schema import department_members, departments

_encode_hours = msgspec.json.Encoder().encode
_decode_hours = msgspec.json.Decoder(OfficeHours).decode


class DepartmentExists(ValueError):
    """Another department has this slug."""


def _row(row: sa.RowMapping) -> Department:
    return Department(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        hours=_decode_hours(row["hours"]),
        first_response_hours=row["first_response_hours"],
        resolution_hours=row["resolution_hours"],
        retention_days=row["retention_days"],
        auto_reply_template=row["auto_reply_template"],
        active=bool(row["active"]),
    )


def _values(department: Department) -> dict[str, object]:
    return {
        "slug": department.slug,
        "name": department.name,
        "hours": _encode_hours(department.hours).decode(),
        "first_response_hours": department.first_response_hours,
        "resolution_hours": department.resolution_hours,
        "retention_days": department.retention_days,
        "auto_reply_template": department.auto_reply_template,
        "active": department.active,
        "updated_us": to_us(utcnow()),
    }


def save(conn: sa.Connection, department: Department) -> Department:
    """Insert (no id) or update (id) a department; returns it as stored."""
    values = _values(department)
    try:
        if department.id is None:
            result = conn.execute(
                departments.insert().values(**values, created_us=values["updated_us"])
            )
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        else:
            conn.execute(
                departments.update().where(departments.c.id == department.id).values(**values)
            )
            new_id = department.id
    except sa.exc.IntegrityError as error:
        raise DepartmentExists(f"a department named {department.slug!r} exists") from error
    found = get(conn, new_id)
    assert found is not None
    return found


def get(conn: sa.Connection, department_id: int) -> Department | None:
    row = (
        conn.execute(sa.select(departments).where(departments.c.id == department_id))
        .mappings()
        .first()
    )
    return None if row is None else _row(row)


def by_slug(conn: sa.Connection, slug: str) -> Department | None:
    row = conn.execute(sa.select(departments).where(departments.c.slug == slug)).mappings().first()
    return None if row is None else _row(row)


def list_all(conn: sa.Connection, *, active_only: bool = False) -> list[Department]:
    query = sa.select(departments).order_by(departments.c.name)
    if active_only:
        query = query.where(departments.c.active)
    return [_row(row) for row in conn.execute(query).mappings()]


def of_user(conn: sa.Connection, user_id: int) -> list[int]:
    """The ids of the departments `user_id` works in."""
    query = sa.select(department_members.c.department_id).where(
        department_members.c.user_id == user_id
    )
    return sorted(int(value) for value in conn.execute(query).scalars())


def members(conn: sa.Connection, department_id: int) -> list[int]:
    query = sa.select(department_members.c.user_id).where(
        department_members.c.department_id == department_id
    )
    return sorted(int(value) for value in conn.execute(query).scalars())


def set_members(conn: sa.Connection, department_id: int, user_ids: Sequence[int]) -> None:
    conn.execute(
        department_members.delete().where(department_members.c.department_id == department_id)
    )
    if user_ids:
        conn.execute(
            department_members.insert(),
            [{"department_id": department_id, "user_id": uid} for uid in sorted(set(user_ids))],
        )


def add_member(conn: sa.Connection, department_id: int, user_id: int) -> None:
    exists = conn.execute(
        sa.select(department_members.c.user_id).where(
            department_members.c.department_id == department_id,
            department_members.c.user_id == user_id,
        )
    ).first()
    if exists is None:
        conn.execute(
            department_members.insert().values(department_id=department_id, user_id=user_id)
        )
