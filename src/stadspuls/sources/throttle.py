"""Rate-limited warnings: a stream of a million bad records must not become a million log lines.

`LogThrottle.warning(key, ...)` logs the first `burst` messages of a key in each `interval`
seconds and counts the rest; the first message logged after a quiet spell says how many of that
key were suppressed, so the log stays short and the numbers stay honest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0


class LogThrottle:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = 60.0,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.burst = burst
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def warning(self, key: str, message: str, *args: object) -> bool:
        """Log `message % args` at WARNING unless `key` is over its budget; True if logged."""
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= self.interval:
            suppressed = window.suppressed if window is not None else 0
            window = self._windows[key] = _Window(started=now)
            if suppressed:
                message += " (%d more like this were suppressed)"
                args = (*args, suppressed)
        if window.logged >= self.burst:
            window.suppressed += 1
            return False
        window.logged += 1
        if window.logged == self.burst:
            message += " (further ones suppressed for %.0f s)"
            args = (*args, self.interval)
        self.logger.warning(message, *args)
        return True
