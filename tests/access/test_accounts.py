from __future__ import annotations

import sqlalchemy as sa

from stadspuls.access import accounts
from stadspuls.access.roles import SYSTEM
from stadspuls.store import audit
from stadspuls.store import users as store
from stadspuls.store.schema import sessions


def test_first_run_hint_until_a_user_exists(engine: sa.Engine) -> None:
    hint = accounts.first_run_hint(engine)
    assert hint is not None
    assert "stadspuls user add NAME --role admin" in hint
    accounts.add_user(engine, SYSTEM, "root", "admin", password="long enough password")
    assert accounts.first_run_hint(engine) is None


def test_changes_are_audited_in_the_same_store(engine: sa.Engine) -> None:
    user = accounts.add_user(engine, SYSTEM, "anna", "viewer", password=None)
    assert user.id is not None
    accounts.set_role(engine, SYSTEM, "anna", "analyst")
    token = accounts.add_token(engine, SYSTEM, user.id, "script")
    assert token.startswith("sp_")
    _total, entries = audit.list_entries(engine)
    rows = [(e.action, e.actor, e.details) for e in reversed(entries)]
    assert rows == [
        (
            "user.add",
            "system",
            {
                "user": "anna",
                "user_id": user.id,
                "role": "viewer",
                "reidentify": False,
                "login": "oidc",
            },
        ),
        (
            "user.role",
            "system",
            {"user": "anna", "user_id": user.id, "role": "analyst", "was": "viewer"},
        ),
        ("token.add", "system", {"user": "anna", "user_id": user.id, "token": "script"}),
    ]


def test_sessions_that_ran_out_are_removed_as_new_ones_start(engine: sa.Engine) -> None:
    user = accounts.add_user(engine, SYSTEM, "anna", "viewer", password=None)
    assert user.id is not None
    stale, _csrf = store.create_session(engine, user.id, ttl_s=0)
    assert store.session_for(engine, stale) is None
    fresh, _csrf = store.create_session(engine, user.id, ttl_s=60)
    with engine.connect() as conn:
        hashes = set(conn.execute(sa.select(sessions.c.token_hash)).scalars())
    assert hashes == {store.digest(fresh)}
