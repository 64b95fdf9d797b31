"""The time range of a monitor page: a named window back from now (`?range=24h`) or a custom
`?from=…&until=…` (local dates and times in Amsterdam, as the form's inputs give them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from stadspuls.web.formatting import TIME_ZONE

RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_RANGE = "24h"
LONGEST = timedelta(days=366)


class RangeError(ValueError):
    """A custom range that cannot be shown; the page keeps the default and says why."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    key: str  # a key of RANGES, or "custom"
    since: datetime
    until: datetime


def _local(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(TIME_ZONE))
    return parsed.astimezone(UTC)


def time_range(
    key: str | None, start: str | None, end: str | None, now: datetime | None = None
) -> TimeRange:
    """The range asked for; `RangeError` for a custom one that is malformed or backwards."""
    now = now or datetime.now(UTC)
    if start or end:
        try:
            since = _local(start) if start else now - RANGES[DEFAULT_RANGE]
            until = _local(end) if end else now
        except (ValueError, OverflowError) as error:  # malformed, or beyond what a date holds
            raise RangeError(str(error)) from error
        if until <= since:
            raise RangeError("the end of the range lies before its start")
        if until - since > LONGEST:
            raise RangeError("a range can be at most a year")
        return TimeRange("custom", since, until)
    chosen = key if key in RANGES else DEFAULT_RANGE
    return TimeRange(chosen, now - RANGES[chosen], now)
