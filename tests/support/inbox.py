"""Departments and members for tests of the inbox."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa

from stadspuls.cases.records import Department, OfficeHours, OpeningSpan
from stadspuls.store import departments, users

# Monday to Friday 08:30–17:00 (Europe/Amsterdam), closed on public holidays.
WEEKDAYS = OfficeHours(
    week={day: (OpeningSpan(time(8, 30), time(17, 0)),) for day in range(5)},
)
ALWAYS = OfficeHours(always_open=True)


def department(
    engine: sa.Engine,
    slug: str = "wijkzaken",
    name: str = "Wijkzaken",
    *,
    hours: OfficeHours = WEEKDAYS,
    members: tuple[str, ...] = (),
) -> Department:
    """Create a department (or return the one with this slug), with the named users (who must
    exist) as members."""
    user_ids = []
    for username in members:
        user = users.find_user(engine, username)
        assert user is not None, f"no user {username!r}"
        assert user.id is not None
        user_ids.append(user.id)
    with engine.begin() as conn:
        found = departments.by_slug(conn, slug) or departments.save(
            conn, Department(slug=slug, name=name, hours=hours)
        )
        assert found.id is not None
        for user_id in user_ids:
            departments.add_member(conn, found.id, user_id)
    return found
