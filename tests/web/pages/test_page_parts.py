"""The pure parts of the pages: sparkline geometry, time ranges, the caret's line and column,
and formatting in the reader's language and the Netherlands' time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import Environment

from stadspuls.query.parser import QuerySyntaxError, parse
from stadspuls.service.views import Point, Series
from stadspuls.web.formatting import FILTERS
from stadspuls.web.pages.ranges import RangeError, time_range
from stadspuls.web.pages.sparkline import sparkline
from stadspuls.web.pages.syntax import problem_at

T0 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def _series(posts: list[int | None], band: bool = True) -> Series:
    return Series(
        bucket_seconds=3600,
        points=tuple(
            Point(
                start=T0 + timedelta(hours=i),
                posts=n,
                expected=2.0 if band else None,
                low=1.0 if band else None,
                high=4.0 if band else None,
            )
            for i, n in enumerate(posts)
        ),
    )


def test_sparkline_scales_posts_and_band_to_one_axis() -> None:
    spark = sparkline(_series([0, 8, 2]), width=100, height=50)
    # x from PAD to width - PAD; y: 8 posts (the top) at PAD, 0 at height - PAD.
    assert spark.line == "M3.0,47.0L50.0,3.0L97.0,36.0"
    assert spark.band.startswith("M3.0,25.0")
    assert spark.band.endswith("Z")
    assert spark.last == (97.0, 36.0)


def test_withheld_buckets_break_the_line_and_no_baseline_draws_no_band() -> None:
    spark = sparkline(_series([3, None, 3], band=False), width=100, height=50)
    assert spark.line.count("M") == 2
    assert spark.band == ""
    assert spark.expected == ""
    assert sparkline(_series([None, None], band=False)).line == ""


def test_time_ranges() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    week = time_range("7d", None, None, now)
    assert (week.key, week.since, week.until) == ("7d", now - timedelta(days=7), now)
    assert time_range("fortnight", None, None, now).key == "24h"
    # A custom range is read in Amsterdam time (UTC+1 in winter).
    custom = time_range(None, "2026-11-30T08:00", "2026-11-30T20:00", now)
    assert custom.key == "custom"
    assert custom.since == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    with pytest.raises(RangeError):
        time_range(None, "2026-11-30T20:00", "2026-11-30T08:00", now)
    with pytest.raises(RangeError):
        time_range(None, "yesterday", None, now)
    with pytest.raises(RangeError):  # Amsterdam's midnight of year 1 is in year 0 in UTC
        time_range(None, "0001-01-01T00:00", None, now)


def test_the_caret_sits_on_the_line_of_the_error() -> None:
    query = "brand OR\n(rook AND"
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    problem = problem_at(query, caught.value)
    assert problem.query == "(rook AND"
    assert caught.value.column == 19  # the end of the whole query
    assert problem.column == 10  # the end of its second line


def test_formatting_follows_language_and_time_zone() -> None:
    env = Environment(autoescape=True)
    env.filters.update(FILTERS)
    moment = datetime(2026, 12, 1, 2, 5, tzinfo=UTC)
    template = env.from_string(
        "{{ t|when('HH:mm') }} {{ n|number }} {{ s|percent }} {{ w|number }}"
    )
    assert template.render(lang="nl", t=moment, n=12345, s=0.25, w=None) == "03:05 12.345 25% —"
    assert template.render(lang="en", t=moment, n=12345, s=0.25, w=None) == "03:05 12,345 25% —"
    ago = env.from_string("{{ t|ago(now) }}")
    later = moment + timedelta(minutes=3)
    assert ago.render(lang="nl", t=moment, now=later) == "3 min. geleden"
    assert ago.render(lang="en", t=moment, now=later) == "3 min. ago"
