"""Quiet hours in Amsterdam local time (summer and winter) and channel names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stadspuls.alerts.rules import RuleError, is_quiet, parse_quiet_hours, split_channel


@pytest.mark.parametrize(
    ("utc_time", "quiet"),
    [
        (datetime(2026, 1, 15, 21, 59, tzinfo=UTC), False),  # 22:59 CET
        (datetime(2026, 1, 15, 22, 0, tzinfo=UTC), True),  # 23:00 CET
        (datetime(2026, 1, 16, 5, 59, tzinfo=UTC), True),  # 06:59 CET
        (datetime(2026, 1, 16, 6, 0, tzinfo=UTC), False),  # 07:00 CET
        (datetime(2026, 7, 15, 21, 0, tzinfo=UTC), True),  # 23:00 CEST
        (datetime(2026, 7, 16, 5, 0, tzinfo=UTC), False),  # 07:00 CEST
        (datetime(2026, 7, 15, 20, 59, tzinfo=UTC), False),  # 22:59 CEST
    ],
)
def test_quiet_hours_wrap_midnight_in_amsterdam_time(utc_time: datetime, quiet: bool) -> None:
    assert is_quiet("23:00-07:00", utc_time) is quiet


def test_quiet_hours_within_a_day_and_none() -> None:
    assert is_quiet("12:00-13:30", datetime(2026, 1, 15, 11, 15, tzinfo=UTC))
    assert not is_quiet("12:00-13:30", datetime(2026, 1, 15, 12, 30, tzinfo=UTC))
    assert not is_quiet(None, datetime(2026, 1, 15, 23, 0, tzinfo=UTC))


@pytest.mark.parametrize("spec", ["23-07", "24:00-07:00", "23:00-23:00", "23:00 - 07:00", ""])
def test_bad_quiet_hours_are_refused(spec: str) -> None:
    with pytest.raises(RuleError):
        parse_quiet_hours(spec)


def test_channels() -> None:
    assert split_channel("live") == ("live", "")
    assert split_channel("webhook:politie-eindhoven") == ("webhook", "politie-eindhoven")
    assert split_channel("email:wacht@example.nl") == ("email", "wacht@example.nl")
    for bad in ("sms:0612345678", "webhook:", "email:nobody", "email:a@b.nl,c@d.nl", "Live"):
        with pytest.raises(RuleError, match="live, webhook:NAME or email:ADDRESS"):
            split_channel(bad)
