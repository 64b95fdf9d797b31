"""The daily limit: a volunteer is selected at most `max_calls_per_day` times in any 24 hours
(here 2); on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from stadspuls.settings import Settings
from tests.volunteers.callout_support import OPERATOR, callouts_on
from tests.volunteers.conftest import Register


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with a daily limit of 2 (the register and its selector read it)."""
    limited = settings.volunteers.model_copy(update={"max_calls_per_day": 2})
    return settings.model_copy(update={"volunteers": limited})


def test_a_volunteer_is_not_called_more_than_the_daily_limit(
    register: Register, settings: Settings
) -> None:
    co = callouts_on(register, settings)
    rosa = co.volunteer(0.5, "Rosa")
    seen = []
    for _ in range(3):
        callout = co.callout()
        assert callout.id is not None
        seen.append([t.volunteer_id for t in co.service.targets(OPERATOR, callout.id)])
        register.clock.advance(hours=1)
    assert seen == [[rosa], [rosa], []]
    assert callout.id is not None
    selected = co.service.events(OPERATOR, callout.id)[1]
    assert selected.details["excluded"] == {"daily_limit": 1}
    register.clock.advance(hours=22)  # 24 hours after the first call
    again = co.callout()
    assert again.id is not None
    assert [t.volunteer_id for t in co.service.targets(OPERATOR, again.id)] == [rosa]
