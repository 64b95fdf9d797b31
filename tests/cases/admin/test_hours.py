"""Office hours in Europe/Amsterdam with Dutch public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from stadspuls.cases import hours
from stadspuls.cases.records import OfficeHours, OpeningSpan
from tests.support.inbox import ALWAYS, WEEKDAYS

AMS = ZoneInfo("Europe/Amsterdam")


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def test_open_on_a_weekday_afternoon_and_closed_in_the_evening() -> None:
    # Tuesday 1 December 2026.
    assert hours.is_open(WEEKDAYS, local(2026, 12, 1, 14, 0))
    assert not hours.is_open(WEEKDAYS, local(2026, 12, 1, 17, 0))  # the end is exclusive
    assert hours.is_open(WEEKDAYS, local(2026, 12, 1, 8, 30))
    assert not hours.is_open(WEEKDAYS, local(2026, 12, 1, 8, 29))


def test_next_opening_after_friday_evening_is_monday_morning_in_utc() -> None:
    friday_evening = local(2026, 12, 4, 18, 0)
    opening = hours.next_opening(WEEKDAYS, friday_evening)
    assert opening == local(2026, 12, 7, 8, 30).astimezone(UTC)
    assert opening is not None
    assert opening.tzinfo == UTC
    # When open, the answer is the moment itself.
    noon = local(2026, 12, 7, 12, 0)
    assert hours.next_opening(WEEKDAYS, noon) == noon.astimezone(UTC)


def test_christmas_and_kings_day_are_closed_and_skipped() -> None:
    # Friday 25 December 2026 and Saturday 26th are holidays; Monday 28th is ordinary.
    assert hours.holiday_name(date(2026, 12, 25)) is not None
    assert not hours.is_open(WEEKDAYS, local(2026, 12, 25, 10, 0))
    assert hours.next_opening(WEEKDAYS, local(2026, 12, 24, 17, 30)) == local(
        2026, 12, 28, 8, 30
    ).astimezone(UTC)
    # King's Day 2026 is Monday 27 April.
    assert not hours.is_open(WEEKDAYS, local(2026, 4, 27, 10, 0))
    open_on_holidays = OfficeHours(week=WEEKDAYS.week, open_on_holidays=True)
    assert hours.is_open(open_on_holidays, local(2026, 4, 27, 10, 0))


def test_liberation_day_follows_the_package_a_day_off_only_in_lustrum_years() -> None:
    assert hours.holiday_name(date(2025, 5, 5)) is not None
    assert hours.holiday_name(date(2026, 5, 5)) is None
    assert hours.is_open(WEEKDAYS, local(2026, 5, 5, 10, 0))  # a Tuesday
    assert not hours.is_open(WEEKDAYS, local(2025, 5, 5, 10, 0))  # a Monday


def test_hours_stay_local_across_the_change_to_and_from_summer_time() -> None:
    # Summer time starts on Sunday 29 March 2026 and ends on Sunday 25 October 2026.
    sundays = OfficeHours(week={6: (OpeningSpan(time(1, 0), time(4, 0)),)})
    spring = hours.next_opening(sundays, local(2026, 3, 28, 12, 0))
    assert spring == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 01:00 CET
    # 03:30 local after the jump is 01:30 UTC: open; 04:00 CEST is 02:00 UTC: closed.
    assert hours.is_open(sundays, datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    assert not hours.is_open(sundays, datetime(2026, 3, 29, 2, 0, tzinfo=UTC))
    # In autumn 01:00 CEST is 23:00 UTC the day before; 04:00 CET is 03:00 UTC: four hours.
    autumn = hours.next_opening(sundays, local(2026, 10, 24, 12, 0))
    assert autumn == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert hours.is_open(sundays, datetime(2026, 10, 25, 2, 59, tzinfo=UTC))
    assert not hours.is_open(sundays, datetime(2026, 10, 25, 3, 0, tzinfo=UTC))
    # An office that opens at 08:30 opens at 08:30 local on both sides of the change.
    before = hours.next_opening(WEEKDAYS, local(2026, 3, 26, 18, 0))
    after = hours.next_opening(WEEKDAYS, local(2026, 3, 30, 6, 0))
    assert before is not None
    assert after is not None
    assert before.astimezone(AMS).time() == after.astimezone(AMS).time() == time(8, 30)
    assert before.hour == 7
    assert after.hour == 6


def test_a_span_ending_at_midnight_is_open_until_the_end_of_the_day() -> None:
    evenings = OfficeHours(week={0: (OpeningSpan(time(18, 0), time(0, 0)),)})
    hours.validate(evenings)
    monday = local(2026, 12, 7, 23, 59)
    assert hours.is_open(evenings, monday)
    assert not hours.is_open(evenings, local(2026, 12, 8, 0, 0))
    assert "18:00–24:00" in hours.describe(evenings, "nl")


def test_always_open_and_the_empty_week() -> None:
    christmas = local(2026, 12, 25, 3, 0)
    assert hours.is_open(ALWAYS, christmas)
    assert hours.next_opening(ALWAYS, christmas) == christmas.astimezone(UTC)
    never = OfficeHours()
    assert not hours.is_open(never, christmas)
    assert hours.next_opening(never, christmas) is None
    assert hours.describe(never, "nl") == "geen openingstijden"
    assert hours.describe(ALWAYS, "en") == "open day and night"


def test_describe_groups_days_in_dutch_and_english() -> None:
    saturday = OfficeHours(week={**WEEKDAYS.week, 5: (OpeningSpan(time(10, 0), time(14, 0)),)})
    assert hours.describe(saturday, "nl") == (
        "ma–vr 08:30–17:00; za 10:00–14:00; feestdagen gesloten"
    )
    assert hours.describe(saturday, "en") == (
        "Mon–Fri 08:30–17:00; Sat 10:00–14:00; closed on public holidays"
    )
    split = OfficeHours(
        week={2: (OpeningSpan(time(13, 0), time(17, 0)), OpeningSpan(time(9, 0), time(12, 0)))},
        open_on_holidays=True,
    )
    assert hours.describe(split, "nl") == "wo 09:00–12:00, 13:00–17:00; ook op feestdagen open"


def test_describe_moment_names_day_and_month_without_the_server_locale() -> None:
    at = local(2026, 12, 7, 8, 30).astimezone(UTC)
    assert hours.describe_moment(at, "nl") == "maandag 7 december om 08:30"
    assert hours.describe_moment(at, "en") == "Monday 7 December at 08:30"


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ({0: (OpeningSpan(time(17, 0), time(9, 0)),)}, "ends before it starts"),
        (
            {1: (OpeningSpan(time(9, 0), time(13, 0)), OpeningSpan(time(12, 0), time(17, 0)))},
            "overlap",
        ),
        ({7: (OpeningSpan(time(9, 0), time(17, 0)),)}, "weekday 7"),
    ],
)
def test_impossible_hours_are_refused(
    week: dict[int, tuple[OpeningSpan, ...]], message: str
) -> None:
    with pytest.raises(hours.HoursError, match=message):
        hours.validate(OfficeHours(week=week))
    with pytest.raises(hours.HoursError, match="time zone"):
        hours.validate(OfficeHours(timezone="Mars/Olympus"))


def test_due_adds_clock_hours_or_none() -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert hours.due(start, 8.0) == start + timedelta(hours=8)
    assert hours.due(start, None) is None
