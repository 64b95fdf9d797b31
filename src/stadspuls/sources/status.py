"""The state of each stream a source reads (a feed, a Mastodon timeline, Jetstream), for
`/health` and `stadspuls sources list`.

A source keeps one `StreamStatus` per stream in `SourceStats.streams` and reports to it:
`connecting()`, `succeeded()` (cheap enough to call per event: two assignments once running),
`retrying(error, delay)` and `stopped()` / `failed(error)`. The collector copies the statuses
to the `source_status` table when they change (at most every few seconds, see `cli/run.py`).

Logging is per stream and quiet by design: one warning when a stream starts failing, then at
most one summary every `summary_interval_s` while it keeps failing, and one info line when it
recovers. Sixteen broken feeds retrying for an hour log sixteen warnings and a summary each
every five minutes, not a warning per retry.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger(__name__)

State = Literal["connecting", "running", "retrying", "failed", "stopped"]
FAILING: frozenset[str] = frozenset({"retrying", "failed"})
SUMMARY_INTERVAL_S = 300.0


@dataclass
class StreamStatus:
    """What is known about one stream. Times are seconds since the epoch (UTC)."""

    stream: str
    state: State = "connecting"
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    error_count: int = 0  # errors since the stream last worked
    next_retry: float | None = None
    updated: float = field(default_factory=time.time)
    summary_interval_s: float = SUMMARY_INTERVAL_S
    _summary_at: float = 0.0  # monotonic time of the last warning or summary
    _unreported: int = 0  # errors since then

    def connecting(self) -> None:
        if self.state != "connecting":
            self._set("connecting")

    def succeeded(self) -> None:
        self.last_success = time.time()
        if self.state != "running":
            if self.state in FAILING:
                log.info("%s: working again after %d error(s)", self.stream, self.error_count)
            self.error_count = 0
            self.next_retry = None
            self._set("running")

    def retrying(self, error: BaseException | str, delay_s: float) -> None:
        """A failed attempt; the next one follows in `delay_s` seconds."""
        self._error(error)
        self.next_retry = time.time() + delay_s
        self._set("retrying")

    def failed(self, error: BaseException | str) -> None:
        """The stream has given up (no retry follows)."""
        self._error(error)
        self.next_retry = None
        self._set("failed")

    def stopped(self) -> None:
        self.next_retry = None
        self._set("stopped")

    def _error(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        # One line: httpx appends a second one ("For more information check: ...").
        self.last_error = (text.strip().splitlines() or [""])[0][:500]
        self.last_error_at = time.time()
        self.error_count += 1
        now = time.monotonic()
        if self.state not in FAILING:
            log.warning("%s: failing (%s); retrying with back-off", self.stream, self.last_error)
            self._summary_at, self._unreported = now, 0
        elif now - self._summary_at >= self.summary_interval_s:
            log.warning(
                "%s: still failing, %d error(s) in the last %.0f s; last: %s",
                self.stream,
                self._unreported + 1,
                now - self._summary_at,
                self.last_error,
            )
            self._summary_at, self._unreported = now, 0
        else:
            self._unreported += 1
            log.debug("%s: %s", self.stream, self.last_error)

    def _set(self, state: State) -> None:
        self.state = state
        self.updated = time.time()

    def row(self) -> StatusRow:
        return StatusRow(
            source=self.stream,
            state=self.state,
            last_success=self.last_success,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            error_count=self.error_count,
            next_retry=self.next_retry,
            updated=self.updated,
        )


@dataclass(frozen=True)
class StatusRow:
    """One stream's status as stored and shown (times: seconds since the epoch, UTC)."""

    source: str
    state: str
    last_success: float | None
    last_error: str | None
    last_error_at: float | None
    error_count: int
    next_retry: float | None
    updated: float
