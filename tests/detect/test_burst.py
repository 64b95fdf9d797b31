"""The burst detector's own promises: a handful of posts in a quiet monitor, a cold start, the
rhythm of the week, and what a signal says."""

from __future__ import annotations

from datetime import datetime, timedelta

from stadspuls.detect.base import Rule
from stadspuls.detect.burst import BurstDetector
from stadspuls.records import Place, Post
from tests.contract.test_detectors import START, run
from tests.support.streams import flat, merged, synthetic_posts

RULES = {1: Rule()}
DELFT = Place(code="GM0503", name="Delft", municipality="Delft", lat=52.01, lon=4.36)


def handful(at: datetime, n: int, prefix: str = "fire") -> list[Post]:
    return [
        Post(
            id=f"{prefix}:{i}",
            source="test",
            native_id=str(i),
            created_at=at + timedelta(minutes=i),
            text=f"brand in de markthal delft, veel rook {i}",
            author_key=f"witness{i}",
            places=(DELFT,),
            duplicate_of="fire:0" if i == 3 else None,
        )
        for i in range(n)
    ]


def quiet_day() -> list[Post]:
    """Two posts a day for three days."""
    return synthetic_posts(flat(2 / 24), START, 72, seed=21)


def test_a_handful_of_posts_in_a_quiet_monitor_raises_it() -> None:
    detector = BurstDetector()
    assert run(detector, quiet_day(), RULES) == []
    at = START + timedelta(hours=72, minutes=3)
    signals = run(detector, handful(at, 6), RULES)
    assert signals
    first = signals[0]
    assert first.observed >= 5
    assert first.expected < 0.5
    assert first.started_at == at.replace(second=0)
    assert first.severity == "high"
    assert "brand" in first.top_terms
    assert "markthal" in first.top_terms
    assert first.top_places == ("Delft",)
    assert "fire:3" not in first.post_ids  # a near-duplicate does not represent the window
    assert len(first.post_ids) <= 5


def test_one_or_two_posts_do_not() -> None:
    detector = BurstDetector()
    run(detector, quiet_day(), RULES)
    assert run(detector, handful(START + timedelta(hours=72), 2), RULES) == []


def test_a_new_monitor_starts_cold_but_hears_a_handful() -> None:
    # the detector has watched the stream for a day; monitor 7 is new and its first posts are a
    # handful at once: it had been quiet all day
    detector = BurstDetector()
    run(detector, synthetic_posts(flat(30), START, 24, seed=22), {})
    at = START + timedelta(hours=24, minutes=1)
    assert run(detector, handful(at, 6), {7: Rule()})


def test_sensitivity_scales_the_thresholds() -> None:
    history = synthetic_posts(flat(6), START, 24, seed=23)
    at = START + timedelta(hours=24, minutes=2)
    extra = handful(at, 4)
    stream = merged(history, extra)
    assert run(BurstDetector(), stream, {1: Rule(sensitivity=0.5)}) == []
    assert run(BurstDetector(), stream, {1: Rule(sensitivity=3.0)})


def friday_nights(at: datetime) -> float:
    """2 posts an hour, but 30 on Friday nights 21:00-01:00 (UTC)."""
    friday = at.weekday() == 4 and at.hour >= 21
    saturday = at.weekday() == 5 and at.hour < 1
    return 30.0 if friday or saturday else 2.0


def test_a_friday_night_is_not_a_monday_night() -> None:
    weeks = synthetic_posts(friday_nights, START, 5 * 7 * 24, seed=24)
    detector = BurstDetector()
    signals = run(detector, weeks, RULES)
    learnt = START + timedelta(weeks=2)
    assert [s.at for s in signals if s.at >= learnt] == []
    # the same crowd on a Monday night is news
    monday = START + timedelta(weeks=5, hours=21)
    crowd = synthetic_posts(flat(30), monday, 3, seed=25, prefix="monday")
    quiet = synthetic_posts(flat(2), monday, 3, seed=26, prefix="quiet")
    assert run(detector, merged(crowd, quiet), RULES)
