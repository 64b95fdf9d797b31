from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.store import audit
from stadspuls.store import users as store
from stadspuls.web.app import create_app
from tests.support.accounts import bearer
from tests.support.login import PASSWORD, add_user, csrf_of, login

INITIAL = "handed over by phone"


def _client(settings: Settings, engine: sa.Engine) -> TestClient:
    return TestClient(create_app(settings, engine=engine))


def _admin(settings: Settings, engine: sa.Engine) -> tuple[TestClient, str]:
    add_user(engine, "root", "admin")
    client = _client(settings, engine)
    assert login(client, "root").status_code == 303
    page = client.get("/admin/users")
    assert page.status_code == 200
    return client, csrf_of(page.text)


def _audit(engine: sa.Engine) -> list[tuple[str, str, object]]:
    _total, entries = audit.list_entries(engine, limit=100)
    return [
        (e.action, e.actor, None if e.details is None else e.details.get("user"))
        for e in reversed(entries)
    ]


def test_admin_page_is_for_admins_only(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    anonymous = client.get("/admin/users", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fadmin%2Fusers"
    add_user(engine, "ana", "analyst")
    login(client, "ana")
    refused = client.get("/admin/users")
    assert refused.status_code == 403
    assert "Alleen beheerders mogen gebruikers beheren." in refused.text
    assert "<table" not in refused.text  # no list of users
    csrf = csrf_of(client.get("/account").text)
    add = client.post("/admin/users", data={"csrf": csrf, "username": "x", "role": "admin"})
    assert add.status_code == 403
    assert store.find_user(engine, "x") is None
    viewer = client.get("/admin/users", headers=bearer(engine, "viewer"))
    assert viewer.status_code == 403


def test_admin_adds_changes_and_disables_users_with_audit_rows(
    settings: Settings, engine: sa.Engine
) -> None:
    client, csrf = _admin(settings, engine)
    form = {"username": "bea", "display_name": "Bea de Vries", "role": "analyst"}
    assert client.post("/admin/users", data={**form, "password": INITIAL}).status_code == 403
    short = client.post("/admin/users", data={**form, "password": "short", "csrf": csrf})
    assert short.status_code == 400
    assert "minstens 12 tekens" in short.text
    assert 'value="bea"' in short.text  # what was typed is kept
    none = client.post("/admin/users", data={**form, "csrf": csrf})
    assert none.status_code == 400
    added = client.post(
        "/admin/users",
        data={**form, "password": INITIAL, "reidentify": "on", "csrf": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303
    taken = client.post("/admin/users", data={**form, "password": INITIAL, "csrf": csrf})
    assert taken.status_code == 400
    assert "Die gebruikersnaam is al in gebruik." in taken.text
    bea = store.find_user(engine, "bea")
    assert bea is not None
    assert bea.id is not None
    assert (bea.role, bea.reidentify, bea.display_name) == ("analyst", True, "Bea de Vries")
    page = client.get("/admin/users?done=add").text
    assert "Bea de Vries" in page
    assert "De gebruiker is toegevoegd." in page

    def post(path: str, **data: str) -> int:
        answer = client.post(path, data={"csrf": csrf, **data}, follow_redirects=False)
        return answer.status_code

    assert post(f"/admin/users/{bea.id}/role", role="viewer") == 303
    assert post(f"/admin/users/{bea.id}/role", role="emperor") == 400
    assert post(f"/admin/users/{bea.id}/reidentify", grant="off") == 303
    # Bea logs in with the password handed over; disabling ends her session at once.
    bea_client = _client(settings, engine)
    assert login(bea_client, "bea", INITIAL).status_code == 303
    token = store.create_token(engine, bea.id, "script")
    assert bea_client.get("/account").status_code == 200
    assert post(f"/admin/users/{bea.id}/active", active="off") == 303
    assert bea_client.get("/account", follow_redirects=False).status_code == 303
    assert store.actor_for_token(engine, token) is None
    assert login(_client(settings, engine), "bea", INITIAL).status_code == 401
    assert post(f"/admin/users/{bea.id}/active", active="on") == 303
    assert store.actor_for_token(engine, token) is not None
    assert post(f"/admin/users/{bea.id}/password", password="short") == 400
    assert post(f"/admin/users/{bea.id}/password", password="a new one for bea") == 303
    assert login(_client(settings, engine), "bea", "a new one for bea").status_code == 303
    assert post(f"/admin/users/{bea.id}/totp-reset") == 303
    assert post("/admin/users/9999/role", role="viewer") == 400
    bea = store.find_user(engine, "bea")
    assert bea is not None
    assert (bea.role, bea.reidentify, bea.active) == ("viewer", False, True)
    assert _audit(engine) == [
        ("user.add", "system", "root"),
        ("user.add", "root", "bea"),
        ("user.role", "root", "bea"),
        ("user.reidentify", "root", "bea"),
        ("user.disable", "root", "bea"),
        ("user.enable", "root", "bea"),
        ("user.passwd", "root", "bea"),
        ("user.totp", "root", "bea"),
    ]


def test_the_last_admin_cannot_lock_everyone_out(settings: Settings, engine: sa.Engine) -> None:
    client, csrf = _admin(settings, engine)
    root = store.find_user(engine, "root")
    assert root is not None
    demote = client.post(f"/admin/users/{root.id}/role", data={"csrf": csrf, "role": "viewer"})
    assert demote.status_code == 400
    assert "laatste actieve beheerder" in demote.text
    off = client.post(f"/admin/users/{root.id}/active", data={"csrf": csrf, "active": "off"})
    assert off.status_code == 400
    user = store.find_user(engine, "root")
    assert user is not None
    assert (user.role, user.active) == ("admin", True)


def test_oidc_only_user_has_no_password(settings: Settings, engine: sa.Engine) -> None:
    client, csrf = _admin(settings, engine)
    answer = client.post(
        "/admin/users",
        data={"csrf": csrf, "username": "sso.user", "role": "viewer", "login": "oidc"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    found = store.credentials(engine, "sso.user")
    assert found is not None
    assert found[1] is None
    # No password matches an account without one, not even an empty one.
    assert login(_client(settings, engine), "sso.user", "").status_code == 401
    assert login(_client(settings, engine), "sso.user", PASSWORD).status_code == 401
