"""Office hours with Dutch public holidays (the `holidays` package), and service-level due times.

Spans are local wall-clock times in the department's time zone (Europe/Amsterdam), so "08:30"
stays 08:30 across the change to and from summer time. A span ending at 00:00 ends at midnight
(24:00): the only way to write "open until the end of the day" with a `time`.

Holidays are whatever `holidays.Netherlands` lists, which follows the law: King's Day (moved to
the 26th when the 27th is a Sunday), Good Friday, and Liberation Day on 5 May only in lustrum
years (2025, 2030), when it is a national day off.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from stadspuls.cases.errors import Explained
from stadspuls.cases.records import OfficeHours, OpeningSpan

# How far ahead next_opening looks: past a year of holidays and closures, a desk that has not
# opened will not open (an empty week, or every span on a holiday that never ends).
SEARCH_DAYS = 400

DAYS_NL = ("ma", "di", "wo", "do", "vr", "za", "zo")
DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_LONG_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_NL = (
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
    "oktober", "november", "december",
)  # fmt: skip
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


class HoursError(Explained):
    """Office hours that cannot be right: a span that ends before it starts, overlapping spans,
    a weekday outside 0–6, an unknown time zone."""


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NL", years=year))


def holiday_name(day: date) -> str | None:
    """The holiday's name (English, as the package gives it), or None on an ordinary day."""
    if day not in _holidays(day.year):
        return None
    return str(holidays.country_holidays("NL", years=day.year).get(day))


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise HoursError("unknown time zone %(zone)r", zone=name) from error


def _end_minutes(span: OpeningSpan) -> int:
    end = span.end.hour * 60 + span.end.minute
    return 24 * 60 if end == 0 else end


def _start_minutes(span: OpeningSpan) -> int:
    return span.start.hour * 60 + span.start.minute


def validate(hours: OfficeHours) -> None:
    """Raise HoursError unless the hours make sense (checked when a department is saved)."""
    _zone(hours.timezone)
    for day, spans in hours.week.items():
        if day not in range(7):
            raise HoursError("weekday %(day)s is not 0 (Monday) … 6 (Sunday)", day=day)
        previous_end = -1
        for span in sorted(spans, key=_start_minutes):
            start, end = _start_minutes(span), _end_minutes(span)
            if start >= end:
                raise HoursError(
                    "%(day)s: %(span)s ends before it starts",
                    day=DAYS_EN[day],
                    span=f"{_clock(span.start)}–{_clock(span.end)}",
                )
            if start < previous_end:
                raise HoursError(
                    "%(day)s: spans overlap at %(at)s", day=DAYS_EN[day], at=_clock(span.start)
                )
            previous_end = end


def _closed_on(hours: OfficeHours, day: date) -> bool:
    return not hours.open_on_holidays and day in _holidays(day.year)


def _spans_utc(hours: OfficeHours, day: date) -> list[tuple[datetime, datetime]]:
    """The day's opening spans as UTC instants (none on a closed holiday)."""
    if _closed_on(hours, day):
        return []
    zone = _zone(hours.timezone)
    found = []
    for span in sorted(hours.week.get(day.weekday(), ()), key=_start_minutes):
        start = datetime.combine(day, span.start, tzinfo=zone)
        # Midnight as an end is the start of the next day; a local time that does not exist
        # (02:30 on the night summer time starts) is read with the offset before the change,
        # as zoneinfo does, which puts it an hour later in UTC: the desk opens at 03:30.
        end_day = day + timedelta(days=1) if _end_minutes(span) == 24 * 60 else day
        end = datetime.combine(end_day, span.end, tzinfo=zone)
        found.append((start.astimezone(UTC), end.astimezone(UTC)))
    return found


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("office hours need an aware datetime")
    return at.astimezone(UTC)


def is_open(hours: OfficeHours, at: datetime) -> bool:
    """Whether the desk is open at UTC time `at` (holidays closed unless open_on_holidays)."""
    if hours.always_open:
        return True
    at = _utc(at)
    local_day = at.astimezone(_zone(hours.timezone)).date()
    return any(start <= at < end for start, end in _spans_utc(hours, local_day))


def next_opening(hours: OfficeHours, at: datetime) -> datetime | None:
    """The next moment (UTC) the desk opens after `at`; `at` itself when open; None: never."""
    if is_open(hours, at):
        return _utc(at)
    at = _utc(at)
    first = at.astimezone(_zone(hours.timezone)).date()
    for offset in range(SEARCH_DAYS + 1):
        for start, _end in _spans_utc(hours, first + timedelta(days=offset)):
            if start > at:
                return start
    return None


def _clock(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _span_text(span: OpeningSpan) -> str:
    end = "24:00" if _end_minutes(span) == 24 * 60 else _clock(span.end)
    return f"{_clock(span.start)}–{end}"


def describe(hours: OfficeHours, lang: str) -> str:
    """The opening hours in words: "ma–vr 08:30–17:00; za 10:00–14:00; feestdagen gesloten"."""
    english = lang.startswith("en")
    if hours.always_open:
        return "open day and night" if english else "dag en nacht geopend"
    names = DAYS_EN if english else DAYS_NL
    keyed = [
        ", ".join(_span_text(s) for s in sorted(hours.week.get(day, ()), key=_start_minutes))
        for day in range(7)
    ]
    parts: list[str] = []
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and keyed[last + 1] == keyed[day]:
            last += 1
        if keyed[day]:
            days = names[day] if last == day else f"{names[day]}–{names[last]}"
            parts.append(f"{days} {keyed[day]}")
        day = last + 1
    if not parts:
        return "no office hours" if english else "geen openingstijden"
    if hours.open_on_holidays:
        parts.append("also open on public holidays" if english else "ook op feestdagen open")
    else:
        parts.append("closed on public holidays" if english else "feestdagen gesloten")
    return "; ".join(parts)


def describe_moment(at: datetime, lang: str, timezone: str = "Europe/Amsterdam") -> str:
    """A moment as a reply says it: "maandag 7 december om 08:30" / "Monday 7 December at
    08:30" (local time; fixed names, not the server's locale)."""
    local = _utc(at).astimezone(_zone(timezone))
    if lang.startswith("en"):
        day, month, word = _LONG_DAYS_EN[local.weekday()], _MONTHS_EN[local.month - 1], "at"
    else:
        day, month, word = _LONG_DAYS_NL[local.weekday()], _MONTHS_NL[local.month - 1], "om"
    return f"{day} {local.day} {month} {word} {_clock(local.time())}"


def due(start: datetime, hours_of_clock: float | None) -> datetime | None:
    """A service-level due time: `start` plus that many hours (None: no timer)."""
    if hours_of_clock is None:
        return None
    return start + timedelta(hours=hours_of_clock)
