"""Abuse limits of the public intake: reports per client address per hour, and per call for
tips per minute (settings.inbox.reports_per_address_hour / reports_per_call_minute).

A client address is personal data we have no reason to keep: it is counted under an HMAC-SHA256
with a key of its own (settings.quota_key_path), so the table holds no address and the counts
cannot be joined to anything else. IPv6 clients are counted per /64, the block one household or
phone gets: counting single addresses would let one device rotate through millions.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Callable
from datetime import datetime

import msgspec
import sqlalchemy as sa

from stadspuls.records import utcnow
from stadspuls.settings import InboxSettings
from stadspuls.store import quota as store

HOUR_US = 3600 * 1_000_000
MINUTE_US = 60 * 1_000_000


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    # Seconds until the window that refused ends (0 when allowed): the Retry-After header.
    retry_after_s: int = 0
    # "address" or "call": which limit refused (None when allowed).
    limit: str | None = None


def address_block(address: str) -> str:
    """The unit an address is counted in: itself for IPv4, its /64 for IPv6; anything that is
    not an address (a test client's name, a Unix socket) as given."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


class IntakeQuota:
    def __init__(
        self,
        engine: sa.Engine,
        settings: InboxSettings,
        key: bytes,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._key = key
        self.clock = clock

    def address_key(self, address: str) -> str:
        digest = hmac.new(self._key, address_block(address).encode(), hashlib.sha256)
        return "a:" + digest.hexdigest()

    @staticmethod
    def call_key(slug: str) -> str:
        # Slugs are short ([a-z0-9-]); the cap keeps any slug inside the key column.
        return "c:" + slug[:96]

    def admit(self, address: str, call_slug: str | None = None) -> Verdict:
        """Count one report from `address` (for the call, if any); refuse it when a limit is
        already reached. Refused reports count too: hammering does not open the window early."""
        now_us = int(self.clock().timestamp() * 1_000_000)
        limits = [
            ("address", self.address_key(address), HOUR_US, self.settings.reports_per_address_hour)
        ]
        if call_slug:
            limits.append(
                ("call", self.call_key(call_slug), MINUTE_US, self.settings.reports_per_call_minute)
            )
        refused: Verdict | None = None
        with self.engine.begin() as conn:
            for name, key, window_us, limit in limits:
                counted = store.count(conn, key, window_us=window_us, now_us=now_us)
                if counted > limit and refused is None:
                    left_us = window_us - now_us % window_us
                    refused = Verdict(
                        allowed=False, retry_after_s=max(1, math.ceil(left_us / 1e6)), limit=name
                    )
        return refused or Verdict(allowed=True)
