"""Login rate limiting: `max_failures` failed logins within the window, for one user name or
one client address, lock that key for a while. Counting per name stops guessing one account's
password from many addresses; counting per address stops trying many names from one.

A success clears the user's count but not the address's: one known account must not reset the
count of an address that is guessing others. The counts live in the store
(`store.login_attempts`), so every worker process shares them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import sqlalchemy as sa

from stadspuls.settings import WebSettings
from stadspuls.store import login_attempts


def user_key(username: str) -> str:
    # Names differ in case only by mistake; counting them apart would double the guesses.
    return "user:" + username.strip().casefold()[:280]


def address_key(address: str) -> str:
    return "ip:" + address[:280]


class RateLimiter:
    def __init__(self, engine: sa.Engine, web: WebSettings, clock: Callable[[], float]) -> None:
        self.engine = engine
        self.max_failures = web.login_max_failures
        self.window_us = int(web.login_window_minutes * 60e6)
        self.lock_us = int(web.login_lock_minutes * 60e6)
        self.clock = clock

    def _now_us(self) -> int:
        return int(self.clock() * 1e6)

    def retry_after(self, keys: list[str]) -> int:
        """Seconds until the latest lock on any of `keys` ends; 0 when none is locked."""
        now = self._now_us()
        until = login_attempts.locked_until(self.engine, keys, now)
        return 0 if until is None else max(1, math.ceil((until - now) / 1e6))

    def failed(self, keys: list[str]) -> int:
        """Count a failed login against every key; the seconds of a lock this one starts."""
        now, locked = self._now_us(), 0
        for key in keys:
            until = login_attempts.add_failure(
                self.engine,
                key,
                now_us=now,
                window_us=self.window_us,
                max_failures=self.max_failures,
                lock_us=self.lock_us,
            )
            if until is not None:
                locked = max(locked, math.ceil((until - now) / 1e6))
        return locked

    def succeeded(self, username: str) -> None:
        login_attempts.clear(self.engine, user_key(username))
