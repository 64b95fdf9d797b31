"""Numbers, times and durations on the pages, in the reader's language (Babel's CLDR data) and
in the Netherlands' time zone: a duty officer reads 03:12, not 02:12Z."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent
from jinja2 import pass_context
from jinja2.runtime import Context

TIME_ZONE = "Europe/Amsterdam"
ZONE = ZoneInfo(TIME_ZONE)
EMPTY = "—"


def _lang(context: Context) -> str:
    return str(context.get("lang") or "nl")


@pass_context
def when(context: Context, value: datetime | None, pattern: str = "d MMM HH:mm") -> str:
    """A moment in Amsterdam time, e.g. "1 dec 05:20"."""
    if value is None:
        return EMPTY
    return format_datetime(value, pattern, tzinfo=ZONE, locale=_lang(context))


@pass_context
def ago(context: Context, value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, e.g. "3 min. geleden"."""
    if value is None:
        return EMPTY
    delta = value - (now or datetime.now(UTC))
    return format_timedelta(
        delta, add_direction=True, format="short", threshold=1.5, locale=_lang(context)
    )


@pass_context
def number(context: Context, value: float | None, digits: int = 0) -> str:
    """A count or rate with the language's separators ("1.234" in Dutch); "—" when withheld."""
    if value is None:
        return EMPTY
    pattern = "#,##0" if digits == 0 else "#,##0." + "0" * digits
    return format_decimal(value, format=pattern, locale=_lang(context))


@pass_context
def percent(context: Context, value: float | None) -> str:
    """A share (0..1) as "12%"; "—" when withheld."""
    if value is None:
        return EMPTY
    return format_percent(value, locale=_lang(context))


def iso(value: datetime | None) -> str:
    """Machine-readable time for `<time datetime=…>` and for scripts."""
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "ago": ago,
    "number": number,
    "percent": percent,
    "iso": iso,
}
