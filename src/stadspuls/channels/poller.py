"""One loop per channel: poll from the stored cursor, hand every message to the case service,
store the cursor, then let the channel tidy up.

The order is the guarantee. The cursor is stored only after every message of a poll was
received, so a crash or a failing receive re-polls the same messages (the case service's
receive is idempotent on the channel's external id) and nothing is lost. Only after that does
the channel move mail out of the inbox (`Acknowledging`).

A channel that fails (ChannelError) is retried with exponential back-off, or when the server
said (a rate limit's reset); one that refuses us (bad credentials) is retried at the longest
back-off and reported as refused. Counters per channel are kept for /health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from stadspuls.cases.records import InboundMessage
from stadspuls.channels.base import Acknowledging, Channel, ChannelError, Polled
from stadspuls.records import utcnow
from stadspuls.sources.status import StatusRow
from stadspuls.store import channel_cursors
from stadspuls.store.status import save_status

log = logging.getLogger(__name__)

Receive = Callable[[InboundMessage], object]


@dataclass
class ChannelStatus:
    """What /health shows per channel."""

    name: str
    # "ok", "retrying" (a failure that may pass), "refused" (credentials), "stopped"
    state: str = "starting"
    polls: int = 0
    received: int = 0
    malformed: int = 0
    skipped: int = 0
    errors: int = 0
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0  # errors since the channel last worked
    next_try: datetime | None = None

    def row(self) -> StatusRow:
        """As a stream of `source_status` ("inbox:email"), which /health and `stadspuls
        sources list` show beside the collector's streams."""
        return StatusRow(
            source=channel_cursors.stream_name(self.name),
            state=_STATES[self.state],
            last_success=_seconds(self.last_success),
            last_error=self.last_error,
            last_error_at=_seconds(self.last_error_at),
            error_count=self.failures,
            next_retry=_seconds(self.next_try) if self.failures else None,
            updated=time.time(),
        )


_STATES = {
    "starting": "connecting",
    "ok": "running",
    "retrying": "retrying",
    "refused": "failed",
    "stopped": "stopped",
}


def _seconds(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


async def poll_once(
    channel: Channel, engine: sa.Engine, receive: Receive, status: ChannelStatus | None = None
) -> Polled:
    """One poll: receive everything it found, then store its cursor, then acknowledge."""
    cursor = await asyncio.to_thread(channel_cursors.load, engine, channel.name)
    polled = await channel.poll(cursor)
    for message in polled.messages:
        # The case service is synchronous (database transactions): keep it off the loop.
        await asyncio.to_thread(receive, message)
        if status is not None:
            status.received += 1
    if polled.cursor is not None and polled.cursor != cursor:
        await asyncio.to_thread(channel_cursors.save, engine, channel.name, polled.cursor)
    if isinstance(channel, Acknowledging):
        await channel.acknowledge(polled)
    if status is not None:
        status.polls += 1
        status.malformed += polled.malformed
        status.skipped += polled.skipped
        status.state = "ok"
        status.last_success = utcnow()
    return polled


def backoff_s(failures: int, low: float, high: float, jitter: Callable[[], float]) -> float:
    """Doubling from `low` up to `high`, ±25 % so that channels do not retry in step."""
    delay: float = min(high, low * 2.0 ** max(failures - 1, 0))
    return min(high, delay * (0.75 + 0.5 * jitter()))


class ChannelPoller:
    def __init__(
        self,
        engine: sa.Engine,
        channels: Mapping[str, Channel],
        receive: Receive,
        *,
        intervals: Mapping[str, float],
        backoff_min_s: float = 1.0,
        backoff_max_s: float = 600.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        # Only channels with an interval are polled (an e-mail channel without a mailbox only
        # sends).
        self.engine = engine
        self.channels = {name: c for name, c in channels.items() if name in intervals}
        self.receive = receive
        self.intervals = intervals
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.jitter = jitter
        self.status = {name: ChannelStatus(name) for name in self.channels}

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._loop(name, stop) for name in self.channels))

    async def _loop(self, name: str, stop: asyncio.Event) -> None:
        channel = self.channels[name]
        status = self.status[name]
        failures = 0
        while not stop.is_set():
            try:
                polled = await poll_once(channel, self.engine, self.receive, status)
            except ChannelError as error:
                failures += 1
                delay = self._failed(status, error, failures)
                if error.retry_after_s is not None:
                    delay = max(delay, error.retry_after_s)
                if not error.retry:
                    status.state = "refused"
                    delay = self.backoff_max_s
                log.warning("channel %s: %s (again in %.0f s)", name, error, delay)
            except Exception as error:
                # A failing receive (the database away): the cursor did not move, so the same
                # messages come again on the next poll.
                failures += 1
                delay = self._failed(status, error, failures)
                log.exception("channel %s: receiving failed (again in %.0f s)", name, delay)
            else:
                failures = 0
                delay = 0.0 if polled.more else self.intervals[name]
            status.failures = failures
            status.next_try = utcnow() + timedelta(seconds=delay)
            await self._store(status)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        status.state = "stopped"
        await self._store(status)

    async def _store(self, status: ChannelStatus) -> None:
        try:
            await asyncio.to_thread(save_status, self.engine, [status.row()])
        except Exception:
            log.exception("channel %s: its status could not be stored", status.name)

    def _failed(self, status: ChannelStatus, error: Exception, failures: int) -> float:
        status.errors += 1
        status.state = "retrying"
        status.last_error = str(error)[:500]
        status.last_error_at = utcnow()
        return backoff_s(failures, self.backoff_min_s, self.backoff_max_s, self.jitter)
