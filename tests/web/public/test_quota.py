"""Abuse limits of the public intake, on SQLite and PostgreSQL: per address per hour, per call
per minute, windows that pass are deleted, and no address is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from stadspuls.cases.quota import IntakeQuota, address_block
from stadspuls.settings import InboxSettings
from stadspuls.store import quota as store
from stadspuls.store.schema import intake_quota

KEY = b"k" * 32


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def quota(engine: sa.Engine, clock: Clock, per_hour: int = 3, per_minute: int = 600) -> IntakeQuota:
    settings = InboxSettings(reports_per_address_hour=per_hour, reports_per_call_minute=per_minute)
    return IntakeQuota(engine, settings, KEY, clock=clock)


def test_an_address_is_refused_after_its_hourly_limit_until_the_hour_ends(
    engine: sa.Engine,
) -> None:
    clock = Clock(datetime(2026, 12, 1, 10, 15, tzinfo=UTC))
    limits = quota(engine, clock)
    assert [limits.admit("192.0.2.7").allowed for _ in range(3)] == [True, True, True]
    refused = limits.admit("192.0.2.7")
    assert (refused.allowed, refused.limit) == (False, "address")
    assert refused.retry_after_s == 45 * 60  # the window is the clock hour 10:00–11:00
    assert limits.admit("192.0.2.8").allowed  # another address counts apart
    clock.at += timedelta(minutes=45)
    assert limits.admit("192.0.2.7").allowed


def test_a_call_is_limited_per_minute_over_all_addresses(engine: sa.Engine) -> None:
    clock = Clock(datetime(2026, 12, 1, 10, 15, 30, tzinfo=UTC))
    limits = quota(engine, clock, per_hour=100, per_minute=2)
    assert limits.admit("192.0.2.1", "brand").allowed
    assert limits.admit("192.0.2.2", "brand").allowed
    refused = limits.admit("192.0.2.3", "brand")
    assert (refused.allowed, refused.limit, refused.retry_after_s) == (False, "call", 30)
    assert limits.admit("192.0.2.3", "andere-oproep").allowed
    assert limits.admit("192.0.2.3").allowed  # the general form has no call limit


def test_ipv6_addresses_count_per_64_block() -> None:
    assert address_block("2001:db8:1:2:aaaa::1") == address_block("2001:db8:1:2:bbbb::9")
    assert address_block("2001:db8:1:3::1") != address_block("2001:db8:1:2::1")
    assert address_block("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_block("testclient") == "testclient"


def test_no_address_is_stored_and_passed_windows_are_deleted(engine: sa.Engine) -> None:
    clock = Clock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    limits = quota(engine, clock)
    limits.admit("198.51.100.23", "brand")
    with engine.connect() as conn:
        stored = store.keys(conn)
        rows = conn.execute(sa.select(intake_quota)).all()
    assert sorted(stored) == sorted([limits.address_key("198.51.100.23"), "c:brand"])
    assert not any("198.51.100.23" in repr(row) for row in rows)
    # Another key with the same key file counts elsewhere; a different key file hashes apart.
    other = IntakeQuota(engine, InboxSettings(), b"x" * 32, clock=clock)
    assert other.address_key("198.51.100.23") != limits.address_key("198.51.100.23")
    clock.at += timedelta(hours=2)
    limits.admit("203.0.113.5")
    with engine.connect() as conn:
        assert store.keys(conn) == [limits.address_key("203.0.113.5")]


def test_counting_returns_the_windows_count(engine: sa.Engine) -> None:
    now_us = int(datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC).timestamp() * 1e6)
    with engine.begin() as conn:
        counts = [store.count(conn, "c:x", window_us=60_000_000, now_us=now_us) for _ in range(3)]
        assert counts == [1, 2, 3]
        assert store.current(conn, "c:x", window_us=60_000_000, now_us=now_us) == 3
        later = now_us + 60_000_000
        assert store.current(conn, "c:x", window_us=60_000_000, now_us=later) == 0
        assert store.count(conn, "c:x", window_us=60_000_000, now_us=later) == 1
