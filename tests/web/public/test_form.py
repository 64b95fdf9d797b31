"""The report form as data, and the reader's language: what a citizen typed, checked without
a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from stadspuls.web.routes.public_form import ReportForm, check, local_input, parse_local, point
from stadspuls.web.routes.public_pages import language

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def request(headers: dict[str, str], query: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/melden",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "nl"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.8,nl;q=0.7", "en"),
        ("en;q=0.5,nl;q=0.8", "nl"),
        ("en;q=0,fr", "nl"),  # q=0 means "not English"
        ("en;q=zero,nl", "nl"),  # a broken weight drops that language only
        ("fr-FR", "nl"),
    ],
)
def test_the_browsers_language_when_none_was_chosen(header: str, expected: str) -> None:
    assert language(request({"Accept-Language": header})) == expected


def test_the_sites_switch_wins_over_the_browser() -> None:
    assert language(request({"Accept-Language": "en"}, "lang=nl")) == "nl"
    assert language(request({"Accept-Language": "nl", "Cookie": "stadspuls_lang=en"})) == "en"


def test_times_are_dutch_local_time() -> None:
    assert parse_local("2026-07-01T14:30") == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert parse_local("2026-12-01T14:30") == datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
    assert parse_local("gisteren") is None
    assert local_input(NOW) == "2026-12-01T10:00"


def test_a_point_must_be_on_earth() -> None:
    assert point(ReportForm(lat="52.0907", lon="5.1214")) == (52.0907, 5.1214)
    assert point(ReportForm(lat="91", lon="5")) is None
    assert point(ReportForm(lat="nan", lon="5")) is None
    assert point(ReportForm(lat="52.1")) is None
    errors = check(ReportForm(text="x", lat="abc", lon="5"), has_files=False, call=None, now=NOW)
    assert [e.field for e in errors] == ["address"]


def test_a_phone_clock_a_little_ahead_is_not_the_future() -> None:
    ahead = ReportForm(text="x", occurred="2026-12-01T10:05")  # 5 minutes past NOW
    assert check(ahead, has_files=False, call=None, now=NOW) == []
    later = ReportForm(text="x", occurred="2026-12-01T11:00")
    assert [e.message for e in check(later, has_files=False, call=None, now=NOW)] == [
        "This time is in the future."
    ]


def test_text_past_its_cap_is_named_not_cut() -> None:
    errors = check(ReportForm(text="a" * 5001), has_files=False, call=None, now=NOW)
    assert [(e.field, e.params) for e in errors] == [("text", {"limit": 5000})]
