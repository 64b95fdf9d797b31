"""The conformance suite every detector passes (river's check_estimator, for detectors).

Parametrised over `detect.registry.available()`: a new detector, built in or from a plugin, gets
these checks for free. A detector whose anomaly can be staged on a synthetic stream adds its
scenario to SCENARIOS (stream of history, then the anomaly) and is checked to raise it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.registry import available, build
from stadspuls.records import SEVERITIES, Post, Signal
from tests.support.streams import flat, merged, nightly_peak, synthetic_posts

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
RULES = {1: Rule(), 2: Rule(sensitivity=1.25)}


DETECTORS = list(available())


def burst_scenario() -> tuple[list[Post], list[Post]]:
    """Two quiet days (three posts an hour), then 30 posts about a fire in ten minutes."""
    history = synthetic_posts(flat(3), START, 48, seed=7, negative_share=0.25)
    at = START + timedelta(hours=48, minutes=5)
    burst = [
        Post(
            id=f"fire:{i}",
            source="test",
            native_id=str(i),
            created_at=at + timedelta(seconds=20 * i),
            text=f"grote brand bij de kroeg op stratumseind rook {i % 3}",
            author_key=f"witness{i}",
            sentiment="negative",
        )
        for i in range(30)
    ]
    return history, burst


def negative_scenario() -> tuple[list[Post], list[Post]]:
    """A day at a quarter negative (30 posts an hour), then two hours at 80 % negative from
    many authors."""
    history = synthetic_posts(flat(30), START, 24, seed=8, negative_share=0.25)
    turn = synthetic_posts(
        flat(30), START + timedelta(hours=24), 2, seed=9, prefix="turn", negative_share=0.8
    )
    return history, turn


SCENARIOS: dict[str, Callable[[], tuple[list[Post], list[Post]]]] = {
    "burst": burst_scenario,
    "negative": negative_scenario,
}


def run(detector: Detector, posts: Sequence[Post], rules: dict[int, Rule] = RULES) -> list[Signal]:
    signals: list[Signal] = []
    for post in posts:
        signals.extend(detector.observe(post, rules))
    return signals


def flat_series() -> list[Post]:
    return synthetic_posts(flat(20), START, 72, seed=3, negative_share=0.25)


def seasonal_series() -> list[Post]:
    """Three weeks of a strong nightly peak: 2 posts an hour by day, 40 around 23:00."""
    return synthetic_posts(nightly_peak(2, 40), START, 21 * 24, seed=4, negative_share=0.25)


def anomaly(name: str) -> list[Post]:
    if name not in SCENARIOS:
        return flat_series()
    history, event = SCENARIOS[name]()
    return merged(history, event)


def check_signals(name: str, signals: list[Signal], posts: Sequence[Post]) -> None:
    ids = {post.id for post in posts}
    times = {post.created_at for post in posts}
    for signal in signals:
        # the record validates as a Signal after a round trip through JSON
        assert msgspec.json.decode(msgspec.json.encode(signal), type=Signal) == signal
        assert signal.detector == name
        assert signal.monitor_id in RULES
        assert signal.at.utcoffset() == timedelta(0)
        assert signal.started_at.utcoffset() == timedelta(0)
        assert signal.at in times
        assert signal.started_at <= signal.at
        assert signal.severity in SEVERITIES
        assert len(signal.post_ids) <= 5
        assert set(signal.post_ids) <= ids
        assert math.isfinite(signal.observed)
        assert math.isfinite(signal.expected)
        assert signal.summary


@pytest.mark.parametrize("name", DETECTORS)
def test_builds_with_its_name(name: str) -> None:
    assert build(name).name == name


@pytest.mark.parametrize("name", DETECTORS)
def test_signals_validate(name: str) -> None:
    posts = anomaly(name)
    check_signals(name, run(build(name), posts), posts)


@pytest.mark.parametrize("name", DETECTORS)
def test_no_signal_on_a_flat_series(name: str) -> None:
    assert run(build(name), flat_series()) == []


@pytest.mark.parametrize("name", DETECTORS)
def test_no_signal_on_a_purely_seasonal_series(name: str) -> None:
    # A monitor's first night has no rhythm to compare with but its recent level (a brand-new
    # monitor may well be told once that nights are busier); from then on the rhythm is learnt.
    learnt = START + timedelta(hours=24)
    assert [s for s in run(build(name), seasonal_series()) if s.at >= learnt] == []


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n in available()])
def test_its_anomaly_is_detected(name: str) -> None:
    history, event = SCENARIOS[name]()
    detector = build(name)
    assert run(detector, history) == []
    signals = run(detector, event)
    assert {s.monitor_id for s in signals} == set(RULES)
    event_ids = {post.id for post in event}
    assert any(set(s.post_ids) & event_ids for s in signals)


@pytest.mark.parametrize("name", DETECTORS)
def test_posts_for_no_monitor_raise_nothing(name: str) -> None:
    detector = build(name)
    assert run(detector, anomaly(name), {}) == []
    assert run(detector, flat_series()[:50], {}) == []


@pytest.mark.parametrize("name", DETECTORS)
def test_state_round_trips(name: str) -> None:
    posts = anomaly(name)
    half = len(posts) * 9 // 10
    detector = build(name)
    run(detector, posts[:half])
    state = detector.snapshot()
    restored = build(name)
    restored.restore(state)
    assert restored.snapshot() == state
    assert run(restored, posts[half:]) == run(detector, posts[half:])


@pytest.mark.parametrize("name", DETECTORS)
def test_a_restart_mid_stream_changes_nothing(name: str) -> None:
    posts = anomaly(name)
    uninterrupted = run(build(name), posts)
    resumed: list[Signal] = []
    detector = build(name)
    for cut in range(0, len(posts), max(1, len(posts) // 7)):
        resumed.extend(run(detector, posts[cut : cut + max(1, len(posts) // 7)]))
        state = detector.snapshot()
        detector = build(name)
        detector.restore(state)
    assert resumed == uninterrupted


@pytest.mark.parametrize("name", DETECTORS)
def test_forget_drops_a_monitor(name: str) -> None:
    posts = anomaly(name)
    half = len(posts) * 9 // 10
    detector = build(name)
    run(detector, posts[:half])
    detector.forget(1)
    # the forgotten monitor continues as if the detector had never seen it (it saw the stream)
    never = build(name)
    run(never, posts[:half], {2: RULES[2]})
    assert run(detector, posts[half:]) == run(never, posts[half:])
