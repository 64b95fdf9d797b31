"""The turn-to-negative detector: many authors turning negative raise it, one angry account
does not, and a place gets its own window."""

from __future__ import annotations

from datetime import timedelta

from stadspuls.detect.base import Rule
from stadspuls.detect.negative import NegativeTurnDetector
from stadspuls.records import Place, Post
from tests.contract.test_detectors import START, run
from tests.support.streams import flat, merged, synthetic_posts

EINDHOVEN = Place(code="GM0772", name="Eindhoven", municipality="Eindhoven", lat=51.44, lon=5.48)
RULES = {1: Rule()}


def baseline() -> list[Post]:
    return synthetic_posts(flat(30), START, 24, seed=11, negative_share=0.2)


def test_one_angry_account_does_not_raise_it() -> None:
    later = START + timedelta(hours=24)
    normal = synthetic_posts(flat(30), later, 2, seed=12, prefix="after", negative_share=0.2)
    angry = synthetic_posts(
        flat(60), later, 2, seed=13, prefix="angry", negative_share=1.0, author_of=lambda _: "one"
    )
    detector = NegativeTurnDetector()
    assert run(detector, baseline(), RULES) == []
    assert run(detector, merged(normal, angry), RULES) == []


def test_many_authors_turning_negative_raise_it() -> None:
    later = START + timedelta(hours=24)
    turn = synthetic_posts(flat(30), later, 2, seed=14, prefix="turn", negative_share=0.75)
    detector = NegativeTurnDetector()
    assert run(detector, baseline(), RULES) == []
    signals = run(detector, turn, RULES)
    assert signals
    first = signals[0]
    assert first.key == ""
    assert first.observed > first.expected + 0.2
    assert first.at - later < timedelta(hours=1)


def test_posts_without_sentiment_are_ignored() -> None:
    posts = synthetic_posts(flat(60), START, 6, seed=15)
    detector = NegativeTurnDetector()
    assert run(detector, posts, RULES) == []
    assert detector.windows == {}


def test_a_place_gets_its_own_window_and_key() -> None:
    later = START + timedelta(hours=24)
    turn = [
        Post(
            id=f"ehv:{i}",
            source="test",
            native_id=str(i),
            created_at=later + timedelta(minutes=2 * i),
            text="weer vechtpartij op stratumseind, politie grijpt niet in",
            author_key=f"resident{i}",
            sentiment="negative",
            places=(EINDHOVEN,),
        )
        for i in range(20)
    ]
    detector = NegativeTurnDetector()
    run(detector, baseline(), RULES)
    signals = run(detector, turn, RULES)
    keys = {s.key for s in signals}
    assert "GM0772" in keys
    place_signal = next(s for s in signals if s.key == "GM0772")
    assert place_signal.top_places == ("Eindhoven",)
    assert "stratumseind" in place_signal.top_terms
