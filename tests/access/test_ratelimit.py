"""The login counts in the store, on SQLite and PostgreSQL: several worker processes share them."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.access.ratelimit import RateLimiter, address_key, user_key
from stadspuls.settings import WebSettings
from stadspuls.store.schema import login_attempts


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_lock_after_max_failures_and_release(engine: sa.Engine) -> None:
    clock = Clock()
    web = WebSettings(login_max_failures=3, login_window_minutes=5, login_lock_minutes=10)
    limiter = RateLimiter(engine, web, clock)
    # A second limiter stands for another worker process on the same database.
    other = RateLimiter(engine, web, clock)
    keys = [user_key("Anna"), address_key("192.0.2.1")]
    assert limiter.failed(keys) == 0
    assert other.failed(keys) == 0
    assert limiter.retry_after(keys) == 0
    assert other.failed(keys) == 600
    assert limiter.retry_after(keys) == 600
    assert limiter.retry_after([user_key("anna")]) == 600  # names count without case
    assert limiter.retry_after([user_key("bob")]) == 0
    clock.now += 599.5
    assert other.retry_after([address_key("192.0.2.1")]) == 1
    clock.now += 0.5
    assert limiter.retry_after(keys) == 0
    # After the lock, counting starts again.
    assert limiter.failed(keys) == 0


def test_success_clears_the_user_but_not_the_address(engine: sa.Engine) -> None:
    clock = Clock()
    web = WebSettings(login_max_failures=2)
    limiter = RateLimiter(engine, web, clock)
    keys = [user_key("anna"), address_key("192.0.2.1")]
    assert limiter.failed(keys) == 0
    limiter.succeeded("anna")
    assert limiter.failed([user_key("anna")]) == 0
    assert limiter.failed([address_key("192.0.2.1")]) == web.login_lock_minutes * 60


def test_counts_that_ran_out_are_forgotten(engine: sa.Engine) -> None:
    clock = Clock()
    web = WebSettings(login_max_failures=2, login_window_minutes=1, login_lock_minutes=1)
    limiter = RateLimiter(engine, web, clock)
    for n in range(50):
        limiter.failed([user_key(f"guess{n}")])
    assert limiter.failed([user_key("locked")]) == 0
    assert limiter.failed([user_key("locked")]) == 60
    clock.now += 61
    limiter.failed([user_key("late")])
    with engine.connect() as conn:
        keys = conn.execute(sa.select(login_attempts.c.key)).scalars().all()
    assert keys == ["user:late"]
