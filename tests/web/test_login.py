from __future__ import annotations

from http.cookies import SimpleCookie

import httpx2 as httpx
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from stadspuls.access import accounts
from stadspuls.access.roles import SYSTEM
from stadspuls.settings import Settings
from stadspuls.store import users as store
from stadspuls.web.app import create_app
from stadspuls.web.auth import SESSION_COOKIE
from stadspuls.web.routes.session import LOGIN_CSRF_COOKIE
from tests.support.login import PASSWORD, add_user, csrf_of, login


def _client(
    settings: Settings, engine: sa.Engine, base_url: str = "http://testserver"
) -> TestClient:
    return TestClient(create_app(settings, engine=engine), base_url=base_url)


def _session_cookie(response: httpx.Response) -> SimpleCookie:
    headers = response.headers.get_list("set-cookie")
    cookies = [v for v in headers if v.startswith(SESSION_COOKIE + "=")]
    assert len(cookies) == 1, cookies
    jar: SimpleCookie = SimpleCookie()
    jar.load(cookies[0])
    return jar


def test_login_sets_a_session_cookie_and_redirects(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    client = _client(settings, engine)
    answer = login(client, "anna", next="/monitors/3?range=7d")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/monitors/3?range=7d"
    morsel = _session_cookie(answer)[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # served over plain http
    assert int(morsel["max-age"]) == int(settings.web.session_hours * 3600)
    # The session authenticates API calls, and the stored user shows the login.
    assert client.get("/login", follow_redirects=False).status_code == 303
    user = store.find_user(engine, "anna")
    assert user is not None
    assert user.last_login_at is not None


def test_cookie_is_secure_over_https(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    answer = login(_client(settings, engine, "https://testserver"), "anna")
    assert answer.status_code == 303
    assert _session_cookie(answer)[SESSION_COOKIE]["secure"] is True


def test_cookie_follows_the_setting_behind_a_tls_proxy(
    settings: Settings, engine: sa.Engine
) -> None:
    # Behind a proxy that ends TLS the app sees plain http, yet the browser speaks https.
    add_user(engine, "anna")
    settings.web.secure_cookies = True
    client = _client(settings, engine)
    form = client.get("/login")
    jar: SimpleCookie = SimpleCookie()
    jar.load(form.headers["set-cookie"])
    assert jar[LOGIN_CSRF_COOKIE]["secure"] is True
    client.cookies.set(LOGIN_CSRF_COOKIE, jar[LOGIN_CSRF_COOKIE].value)
    answer = client.post(
        "/login",
        data={"username": "anna", "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert _session_cookie(answer)[SESSION_COOKIE]["secure"] is True
    # Configured off, even https gets no Secure flag (a test set-up without TLS).
    settings.web.secure_cookies = False
    plain = login(_client(settings, engine, "https://testserver"), "anna")
    assert not _session_cookie(plain)[SESSION_COOKIE]["secure"]


def test_wrong_password_and_unknown_user_get_the_same_answer(
    settings: Settings, engine: sa.Engine
) -> None:
    add_user(engine, "anna")
    client = _client(settings, engine)
    wrong = login(client, "anna", "not the password at all")
    unknown = login(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert SESSION_COOKIE not in client.cookies
    # Dutch by default; the message names neither field as the wrong one.
    assert "Onjuiste gebruikersnaam of wachtwoord." in wrong.text
    assert "Onjuiste gebruikersnaam of wachtwoord." in unknown.text
    assert wrong.text.replace("anna", "nobody") == unknown.text.replace(
        csrf_of(unknown.text), csrf_of(wrong.text)
    )


def test_login_form_without_its_csrf_token_is_refused(
    settings: Settings, engine: sa.Engine
) -> None:
    add_user(engine, "anna")
    client = _client(settings, engine)
    client.get("/login")
    forged = client.post(
        "/login",
        data={"username": "anna", "password": PASSWORD, "csrf": "guessed"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    # A post from another site carries no login cookie at all.
    fresh = _client(settings, engine)
    blind = fresh.post(
        "/login",
        data={"username": "anna", "password": PASSWORD, "csrf": ""},
        follow_redirects=False,
    )
    assert blind.status_code == 403


def test_open_redirects_are_refused(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/\nx",
    ):
        client = _client(settings, engine)
        answer = login(client, "anna", next=target)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/", target


def test_logout_ends_the_session(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    client = _client(settings, engine)
    login(client, "anna")
    token = client.cookies[SESSION_COOKIE]
    assert store.session_for(engine, token) is not None
    info = store.session_for(engine, token)
    assert info is not None
    # Logging out needs the session's CSRF token: a cross-site form cannot log you out.
    assert client.post("/logout", data={"csrf": "nope"}, follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf": info.csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert store.session_for(engine, token) is None
    assert SESSION_COOKIE not in client.cookies


def test_first_run_hint_on_the_login_page(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    assert "stadspuls user add NAME --role admin" in client.get("/login").text
    add_user(engine, "anna", "admin")
    assert "stadspuls user add NAME --role admin" not in client.get("/login").text


def test_login_replaces_a_hash_with_stale_parameters(settings: Settings, engine: sa.Engine) -> None:
    user = add_user(engine, "anna")
    assert user.id is not None
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with engine.begin() as conn:
        store.set_password_hash(conn, user.id, cheap.hash(PASSWORD))
    assert login(_client(settings, engine), "anna").status_code == 303
    found = store.credentials(engine, "anna")
    assert found is not None
    assert found[1] is not None
    assert found[1].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert login(_client(settings, engine), "anna").status_code == 303


def test_a_disabled_users_session_stops_working(settings: Settings, engine: sa.Engine) -> None:
    add_user(engine, "anna")
    client = _client(settings, engine)
    login(client, "anna")
    assert client.get("/account").status_code == 200
    accounts.set_active(engine, SYSTEM, "anna", False)
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert login(_client(settings, engine), "anna").status_code == 401
