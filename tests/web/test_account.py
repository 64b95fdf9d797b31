from __future__ import annotations

import re

import pyotp
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.store import audit
from stadspuls.store import users as store
from stadspuls.web.app import create_app
from stadspuls.web.auth import SESSION_COOKIE
from tests.support.login import PASSWORD, add_user, csrf_of, login

NEW = "a brand new passphrase"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _logged_in(settings: Settings, engine: sa.Engine, name: str = "anna") -> TestClient:
    client = TestClient(create_app(settings, engine=engine))
    client.app.state.clock = Clock(1_800_000_000.0)  # type: ignore[attr-defined]
    assert login(client, name).status_code == 303
    return client


def _actions(engine: sa.Engine) -> list[str]:
    _total, entries = audit.list_entries(engine, limit=100)
    return [e.action for e in reversed(entries)]


def test_anonymous_readers_are_sent_to_the_login_page(
    settings: Settings, engine: sa.Engine
) -> None:
    client = TestClient(create_app(settings, engine=engine))
    answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Faccount"
    posted = client.post("/account/tokens", data={"name": "x"}, follow_redirects=False)
    assert posted.status_code == 303


def test_change_password_needs_the_old_one_and_the_csrf_token(
    settings: Settings, engine: sa.Engine
) -> None:
    add_user(engine, "anna")
    client = _logged_in(settings, engine)
    other = _logged_in(settings, engine)  # a second session of the same user
    page = client.get("/account")
    assert page.status_code == 200
    assert "Wachtwoord wijzigen" in page.text
    csrf = csrf_of(page.text)
    form = {"current": PASSWORD, "new": NEW, "repeat": NEW}
    assert client.post("/account/password", data=form).status_code == 403
    wrong = client.post("/account/password", data={**form, "current": "nope", "csrf": csrf})
    assert wrong.status_code == 400
    assert "Uw huidige wachtwoord klopt niet." in wrong.text
    short = client.post(
        "/account/password", data={**form, "new": "short", "repeat": "short", "csrf": csrf}
    )
    assert short.status_code == 400
    assert "minstens 12 tekens" in short.text
    differ = client.post("/account/password", data={**form, "repeat": NEW + "!", "csrf": csrf})
    assert differ.status_code == 400
    done = client.post("/account/password", data={**form, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/account?done=password"
    # This session goes on, the other one ended, and only the new password logs in.
    assert client.get("/account").status_code == 200
    assert other.get("/account", follow_redirects=False).status_code == 303
    fresh = TestClient(create_app(settings, engine=engine))
    assert login(fresh, "anna", PASSWORD).status_code == 401
    assert login(fresh, "anna", NEW).status_code == 303
    assert _actions(engine) == ["user.add", "user.passwd"]


def test_tokens_are_shown_once_listed_and_revoked(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    client = _logged_in(settings, engine)
    csrf = csrf_of(client.get("/account").text)
    assert client.post("/account/tokens", data={"name": "grafana"}).status_code == 403
    assert client.post("/account/tokens", data={"name": " ", "csrf": csrf}).status_code == 400
    made = client.post("/account/tokens", data={"name": "grafana", "csrf": csrf})
    assert made.status_code == 200
    secret = re.search(r'value="(sp_[^"]+)"', made.text)
    assert secret is not None
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    # The token works for the API (the session's identity does not leak into it).
    bare = TestClient(create_app(settings, engine=engine))
    assert bare.get("/account", headers=headers).status_code == 200
    # Shown once: the list names it but never shows the secret again.
    page = client.get("/account")
    assert "grafana" in page.text
    assert secret.group(1) not in page.text
    user = store.find_user(engine, "anna")
    assert user is not None
    assert user.id is not None
    (token,) = store.list_tokens(engine, user.id)
    revoked = client.post(
        f"/account/tokens/{token.id}/revoke", data={"csrf": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert store.actor_for_token(engine, secret.group(1)) is None
    again = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf": csrf})
    assert again.status_code == 404
    assert _actions(engine) == ["user.add", "token.add", "token.revoke"]


def test_a_user_cannot_revoke_another_users_token(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    bob = add_user(engine, "bob")
    assert bob.id is not None
    secret = store.create_token(engine, bob.id, "bob's")
    (token,) = store.list_tokens(engine, bob.id)
    client = _logged_in(settings, engine)
    csrf = csrf_of(client.get("/account").text)
    answer = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf": csrf})
    assert answer.status_code == 404
    assert store.actor_for_token(engine, secret) is not None


def test_totp_setup_then_login_with_a_code_that_works_once(
    settings: Settings, engine: sa.Engine
) -> None:
    add_user(engine, "anna")
    client = _logged_in(settings, engine)
    clock: Clock = client.app.state.clock  # type: ignore[attr-defined]
    csrf = csrf_of(client.get("/account").text)
    setup = client.post("/account/totp/setup", data={"csrf": csrf})
    assert setup.status_code == 200
    assert "<svg" in setup.text
    uri = re.search(r"otpauth://totp/[^\"<]+", setup.text)
    assert uri is None  # the URI is inside the QR code, not printed in the page
    key = re.search(r'class="secret">([A-Z2-7 ]+)<', setup.text)
    assert key is not None
    secret = key.group(1).replace(" ", "")
    sealed = re.search(r'name="sealed" value="([^"]+)"', setup.text)
    assert sealed is not None
    totp = pyotp.TOTP(secret)
    form = {"csrf": csrf, "sealed": sealed.group(1)}
    wrong = client.post("/account/totp/confirm", data={**form, "code": "000000"})
    assert wrong.status_code == 400
    tampered = client.post(
        "/account/totp/confirm",
        data={**form, "sealed": sealed.group(1)[:-4] + "AAAA", "code": totp.at(clock.now)},
    )
    assert tampered.status_code == 400
    on = client.post(
        "/account/totp/confirm", data={**form, "code": totp.at(clock.now)}, follow_redirects=False
    )
    assert on.status_code == 303
    user = store.find_user(engine, "anna")
    assert user is not None
    assert user.totp

    # Logging in now takes a second step; the password step alone grants nothing.
    browser = TestClient(create_app(settings, engine=engine))
    browser.app.state.clock = clock  # type: ignore[attr-defined]
    first = login(browser, "anna", next="/account")
    assert first.status_code == 303
    assert first.headers["location"] == "/login/totp?next=%2Faccount"
    assert browser.get("/account", follow_redirects=False).status_code == 303
    step_page = browser.get("/login/totp", params={"next": "/account"})
    assert "Verificatiecode" in step_page.text
    step_csrf = csrf_of(step_page.text)
    # The code that confirmed the set-up is spent already.
    spent = browser.post(
        "/login/totp", data={"csrf": step_csrf, "code": totp.at(clock.now), "next": "/account"}
    )
    assert spent.status_code == 401
    clock.now += 30
    code = totp.at(clock.now)
    pending_token = browser.cookies[SESSION_COOKIE]
    ok = browser.post(
        "/login/totp",
        data={"csrf": step_csrf, "code": code[:3] + " " + code[3:], "next": "/account"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/account"
    # A new token replaces the pending one.
    assert browser.cookies[SESSION_COOKIE] != pending_token
    assert store.session_for(engine, pending_token) is None
    assert browser.get("/account").status_code == 200
    # The same code cannot log in a second browser (reuse refused), even within its window.
    third = TestClient(create_app(settings, engine=engine))
    third.app.state.clock = clock  # type: ignore[attr-defined]
    login(third, "anna")
    reused = third.post(
        "/login/totp", data={"csrf": csrf_of(third.get("/login/totp").text), "code": code}
    )
    assert reused.status_code == 401
    assert "al gebruikt" in reused.text

    # Switching it off needs the password.
    csrf = csrf_of(client.get("/account").text)
    refused = client.post("/account/totp/remove", data={"csrf": csrf, "current": "wrong"})
    assert refused.status_code == 400
    off = client.post(
        "/account/totp/remove", data={"csrf": csrf, "current": PASSWORD}, follow_redirects=False
    )
    assert off.status_code == 303
    user = store.find_user(engine, "anna")
    assert user is not None
    assert not user.totp
    assert _actions(engine) == ["user.add", "user.totp", "user.totp"]


def test_english_on_request(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    client = _logged_in(settings, engine)
    assert "Change password" in client.get("/account", params={"lang": "en"}).text
    assert "Change password" in client.get("/account").text  # the choice is remembered
