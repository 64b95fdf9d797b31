"""Users and their credentials for tests of anything behind a login."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.records import User
from stadspuls.store import users


def bearer(
    engine: sa.Engine, role: str = "analyst", *, reidentify: bool = False, name: str | None = None
) -> dict[str, str]:
    """Headers that authenticate as a new user with `role`, through a personal API token."""
    username = name or f"{role}{'-reid' if reidentify else ''}"
    user = users.find_user(engine, username) or users.create_user(
        engine, User(username=username, role=role, reidentify=reidentify), password_hash=None
    )
    assert user.id is not None
    return {"Authorization": f"Bearer {users.create_token(engine, user.id, 'test')}"}
