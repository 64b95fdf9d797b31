from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.access import accounts
from stadspuls.access.roles import SYSTEM
from stadspuls.settings import OidcSettings, Settings
from stadspuls.store import audit
from stadspuls.store import users as store
from stadspuls.web.app import create_app
from stadspuls.web.auth import SESSION_COOKIE
from tests.support.login import add_user
from tests.support.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    TAMPERING,
    Provider,
    running_provider,
)


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


def _app_client(
    settings: Settings, engine: sa.Engine, provider: Provider, **oidc: object
) -> TestClient:
    settings.web.oidc = OidcSettings(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        label="Inloggen met het testportaal",
        **oidc,  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings, engine=engine))


def _sign_in(client: TestClient, next: str = "/") -> httpx2.Response:
    """Click the button, let the provider answer in a real HTTP round trip, come back."""
    start = client.get("/login/oidc", params={"next": next}, follow_redirects=False)
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"][0]
    assert query["state"][0]
    back = httpx.get(authorize, follow_redirects=False)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    assert callback.path == "/login/oidc/callback"
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_login_page_shows_the_button_only_when_configured(
    settings: Settings, engine: sa.Engine, provider: Provider
) -> None:
    assert "/login/oidc" not in TestClient(create_app(settings, engine=engine)).get("/login").text
    assert TestClient(create_app(settings, engine=engine)).get("/login/oidc").status_code == 404
    page = _app_client(settings, engine, provider).get("/login").text
    assert "Inloggen met het testportaal" in page


def test_first_login_creates_the_user_with_the_default_role(
    settings: Settings, engine: sa.Engine, provider: Provider
) -> None:
    client = _app_client(settings, engine, provider, default_role="analyst")
    answer = _sign_in(client, next="/account")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account"
    assert SESSION_COOKIE in client.cookies
    assert "jan.jansen" in client.get("/account").text
    user = store.find_user(engine, "jan.jansen")
    assert user is not None
    assert user.role == "analyst"
    assert user.oidc_subject == f"{provider.issuer}|u-1001"
    assert user.display_name == "Jan Jansen"
    # The second login finds the same user by subject.
    provider.user["preferred_username"] = "renamed"
    again = _app_client(settings, engine, provider)
    assert _sign_in(again).status_code == 303
    assert [u.username for u in store.list_users(engine)] == ["jan.jansen"]
    _total, entries = audit.list_entries(engine)
    assert [(e.action, e.actor) for e in entries] == [("user.add", "oidc")]


def test_role_claim_sets_the_role(
    settings: Settings, engine: sa.Engine, provider: Provider
) -> None:
    def role_after_login(groups: list[str]) -> str:
        provider.user["groups"] = groups
        assert (
            _sign_in(_app_client(settings, engine, provider, role_claim="groups")).status_code
            == 303
        )
        user = store.find_user(engine, "jan.jansen")
        assert user is not None
        return user.role

    # The highest known role among the groups; the provider stays the source of truth.
    assert role_after_login(["staff", "analyst"]) == "analyst"
    assert role_after_login(["viewer"]) == "viewer"
    assert role_after_login(["no-role-of-ours"]) == "viewer"


@pytest.mark.parametrize("tamper", TAMPERING)
def test_a_bad_id_token_logs_nobody_in(
    settings: Settings, engine: sa.Engine, provider: Provider, tamper: str
) -> None:
    provider.tamper = tamper
    client = _app_client(settings, engine, provider)
    answer = _sign_in(client)
    assert answer.status_code == 400
    assert "Eenmalige aanmelding is niet gelukt." in answer.text
    assert SESSION_COOKIE not in client.cookies
    assert store.list_users(engine) == []


def test_state_must_match_and_the_code_works_once(
    settings: Settings, engine: sa.Engine, provider: Provider
) -> None:
    client = _app_client(settings, engine, provider)
    start = client.get("/login/oidc", follow_redirects=False)
    back = urlsplit(
        httpx.get(start.headers["location"], follow_redirects=False).headers["location"]
    )
    query = parse_qs(back.query)
    forged = client.get(
        "/login/oidc/callback", params={"code": query["code"][0], "state": "forged"}
    )
    assert forged.status_code == 400
    # Without the sealed state cookie (another browser), the callback is refused as well.
    stranger = _app_client(settings, engine, provider)
    assert stranger.get(f"{back.path}?{back.query}").status_code == 400
    assert store.list_users(engine) == []


def test_provider_errors_and_an_unreachable_provider(
    settings: Settings, engine: sa.Engine, provider: Provider
) -> None:
    client = _app_client(settings, engine, provider)
    client.get("/login/oidc", follow_redirects=False)
    denied = client.get("/login/oidc/callback", params={"error": "access_denied", "state": "x"})
    assert denied.status_code == 400
    settings.web.oidc = OidcSettings(
        issuer="http://127.0.0.1:9/nothing", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    down = TestClient(create_app(settings, engine=engine)).get("/login/oidc")
    assert down.status_code == 502
    assert "Eenmalige aanmelding is nu niet beschikbaar." in down.text


def test_password_account_of_the_same_name_is_not_taken_over(
    settings: Settings, engine: sa.Engine, provider: Provider
) -> None:
    add_user(engine, "jan.jansen", "admin")
    client = _app_client(settings, engine, provider)
    answer = _sign_in(client)
    assert answer.status_code == 409
    assert SESSION_COOKIE not in client.cookies
    user = store.find_user(engine, "jan.jansen")
    assert user is not None
    assert user.oidc_subject is None


def test_sso_only_account_added_by_an_admin_is_linked(
    settings: Settings, engine: sa.Engine, provider: Provider
) -> None:
    add_user(engine, "jan.jansen", "analyst", password=None)
    client = _app_client(settings, engine, provider)
    assert _sign_in(client).status_code == 303
    user = store.find_user(engine, "jan.jansen")
    assert user is not None
    assert user.oidc_subject == f"{provider.issuer}|u-1001"
    assert user.role == "analyst"
    # Disabled, the provider's word no longer logs in.
    accounts.set_active(engine, SYSTEM, "jan.jansen", False)
    refused = _sign_in(_app_client(settings, engine, provider))
    assert refused.status_code == 403
