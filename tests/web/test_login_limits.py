from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.web.app import create_app
from tests.support.login import PASSWORD, add_user, login


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _client(settings: Settings, engine: sa.Engine, clock: Clock, address: str) -> TestClient:
    client = TestClient(create_app(settings, engine=engine), client=(address, 50000))
    client.app.state.clock = clock  # type: ignore[attr-defined]
    return client


def test_failures_lock_the_user_then_the_lock_ends(settings: Settings, engine: sa.Engine) -> None:
    settings.web.login_max_failures = 3
    settings.web.login_window_minutes = 10
    settings.web.login_lock_minutes = 15
    add_user(engine, "anna")
    clock = Clock(1_800_000_000.0)
    # Each attempt from another address: the per-user count locks the account's logins.
    for n in range(2):
        assert (
            login(_client(settings, engine, clock, f"10.0.0.{n}"), "anna", "x").status_code == 401
        )
    third = login(_client(settings, engine, clock, "10.0.0.3"), "anna", "x")
    assert third.status_code == 429
    assert third.headers["retry-after"] == str(15 * 60)
    assert "Te veel mislukte pogingen. Probeer het over 15 minuten opnieuw." in third.text
    # Locked: even the right password is refused now, without being checked.
    clock.now += 60
    locked = login(_client(settings, engine, clock, "10.0.0.4"), "anna", PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(14 * 60)
    # Another user is not affected.
    add_user(engine, "bob")
    assert login(_client(settings, engine, clock, "10.0.0.5"), "bob").status_code == 303
    clock.now += 14 * 60
    assert login(_client(settings, engine, clock, "10.0.0.6"), "anna").status_code == 303


def test_failures_from_one_address_lock_that_address(settings: Settings, engine: sa.Engine) -> None:
    settings.web.login_max_failures = 3
    clock = Clock(1_800_000_000.0)
    add_user(engine, "anna")
    client = _client(settings, engine, clock, "192.0.2.7")
    for name in ("a", "b"):
        assert login(client, name, "guess").status_code == 401
    assert login(client, "c", "guess").status_code == 429
    # The right password from that address waits too; from another address it works.
    assert login(client, "anna").status_code == 429
    assert login(_client(settings, engine, clock, "192.0.2.8"), "anna").status_code == 303


def test_failures_outside_the_window_do_not_add_up(settings: Settings, engine: sa.Engine) -> None:
    settings.web.login_max_failures = 3
    settings.web.login_window_minutes = 10
    clock = Clock(1_800_000_000.0)
    add_user(engine, "anna")
    client = _client(settings, engine, clock, "192.0.2.9")
    for _ in range(2):
        assert login(client, "anna", "guess").status_code == 401
    clock.now += 11 * 60
    for _ in range(2):
        assert login(client, "anna", "guess").status_code == 401
    # A success clears the user's count.
    assert login(client, "anna").status_code == 303
    other = _client(settings, engine, clock, "192.0.2.10")
    for _ in range(2):
        assert login(other, "anna", "guess").status_code == 401


def test_english_lock_message(settings: Settings, engine: sa.Engine) -> None:
    settings.web.login_max_failures = 1
    clock = Clock(1_800_000_000.0)
    client = _client(settings, engine, clock, "192.0.2.11")
    client.get("/login", params={"lang": "en"})
    answer = login(client, "anna", "guess")
    assert answer.status_code == 429
    assert "Too many failed attempts. Try again in 15 minutes." in answer.text
