"""The rumour detector: cue words in Dutch and English, a story with rumour evidence that
spreads fast signals, a verified story or a slow one does not."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.cues import cues_in, has_cue
from stadspuls.detect.registry import build
from stadspuls.detect.rumour import RumourDetector
from stadspuls.records import Post, Signal
from tests.conftest import shared_data_path
from tests.detect.story_posts import background, post

RULE = {1: Rule()}

OUTAGE_RUMOURS = [
    "Klopt dit? Er zou een explosie zijn geweest bij het stroomstation in Groningen",
    "Hoor dat de stroomstoring in Groningen door een explosie komt, weet iemand meer?",
    "Onbevestigd: explosie bij stroomstation Groningen oorzaak stroomstoring",
    "Is het waar dat er een explosie was bij het stroomstation? Hele stad Groningen zonder stroom",
    "Explosie stroomstation Groningen?? Klopt het dat de stroomstoring daardoor komt",
]
OUTAGE_FACTS = [
    "Stroomstoring in Groningen, netbeheerder Enexis werkt aan herstel van het stroomstation",
    "Enexis: stroomstoring Groningen door defect in stroomstation, herstel duurt uren",
    "Stroomstoring in de stad Groningen, het stroomstation van Enexis is defect",
    "Hele binnenstad Groningen zonder stroom, defect stroomstation volgens Enexis",
    "Enexis meldt defect stroomstation, stroomstoring Groningen duurt nog even",
]


def run(detector: Detector, posts: list[Post], rules: dict[int, Rule] = RULE) -> list[Signal]:
    return [s for p in posts for s in detector.observe(p, rules)]


def warmed(rules: dict[int, Rule] = RULE) -> RumourDetector:
    """A detector whose monitors have seen a little history (none of it rumours)."""
    detector = RumourDetector()
    assert run(detector, background(), rules) == []
    return detector


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Klopt dit?? Schietpartij bij het station", "klopt dit"),
        ("Dat is nepnieuws, er is niks gebeurd", "nepnieuws"),
        ("Politie: bericht over ontvoering is niet waar", "is niet waar"),
        ("ONBEVESTIGD: brand in de Euromast", "onbevestigd"),
        ("Naar verluidt zijn er twee gewonden", "naar verluidt"),
        ("Unconfirmed: shots fired near parliament", "unconfirmed"),
        ("Is this true? Bridge closed after explosion", "is this true"),
        ("That photo is a hoax, it is from 2012", "hoax"),
        ("This is fake news, nothing happened at the mall", "fake news"),
        ("Gunman reportedly still inside the cafe", "reportedly"),
    ],
)
def test_cues_in_dutch_and_english(text: str, cue: str) -> None:
    assert cue in cues_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "Brand in een woning aan de Kerkstraat, brandweer is ter plaatse",
        "Police confirm two people injured in the collision on the A2",
        "Waar is de dichtstbijzijnde apotheek?",  # "waar" (where) is no denial
        "Reporting live from the town hall",  # "reporting" is not "reports of"
    ],
)
def test_plain_reports_carry_no_cue(text: str) -> None:
    assert not has_cue(text)


@pytest.mark.shared_data
def test_cues_are_far_more_frequent_in_real_rumours() -> None:
    """PHEME source tweets: the cue list marks rumours at least three times as often as
    non-rumours (measured: 9.2 % against 1.6 %)."""
    path = shared_data_path("rumours_pheme", "dev.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    total = Counter(r["label"] for r in rows)
    marked = Counter(r["label"] for r in rows if has_cue(r["text"]))
    rumour = marked["rumour"] / total["rumour"]
    other = marked["non-rumour"] / total["non-rumour"]
    assert rumour > 3 * other
    assert rumour > 0.05


def test_a_fast_spreading_story_with_cues_signals() -> None:
    detector = warmed()
    posts = [post(n, text, minutes=n * 5) for n, text in enumerate(OUTAGE_RUMOURS)]
    signals = run(detector, posts)
    assert [s.observed for s in signals] == [4.0, 5.0]
    assert len({s.key for s in signals}) == 1
    first = signals[0]
    assert first.detector == "rumour"
    assert first.details is not None
    assert first.details["rumour_evidence"] == 1.0
    assert set(first.post_ids) <= {p.id for p in posts}
    assert "explosie" in first.top_terms


def test_the_same_story_told_as_fact_does_not_signal() -> None:
    posts = [post(n, text, minutes=n * 5) for n, text in enumerate(OUTAGE_FACTS)]
    assert run(warmed(), posts) == []


def test_the_door_rumour_score_is_evidence_too() -> None:
    likely = [post(n, text, minutes=n * 5, rumour_score=0.8) for n, text in enumerate(OUTAGE_FACTS)]
    assert len(run(warmed(), likely)) == 2
    unlikely = [
        post(n, text, minutes=n * 5, rumour_score=0.2) for n, text in enumerate(OUTAGE_FACTS)
    ]
    assert run(warmed(), unlikely) == []


def test_a_slow_story_is_no_fast_rumour() -> None:
    posts = [post(n, text, minutes=n * 40) for n, text in enumerate(OUTAGE_RUMOURS)]
    assert run(warmed(), posts) == []  # never four authors within one hour


def test_one_author_spreading_it_is_not_enough() -> None:
    posts = [post(n, text, author="one") for n, text in enumerate(OUTAGE_RUMOURS * 2)]
    assert run(warmed(), posts) == []


def test_sensitivity_lowers_the_author_threshold() -> None:
    posts = [post(n, text, minutes=n * 5) for n, text in enumerate(OUTAGE_RUMOURS)]
    assert [
        s.observed
        for s in run(warmed({1: Rule(sensitivity=2.0)}), posts, {1: Rule(sensitivity=2.0)})
    ] == [
        2.0,
        3.0,
        4.0,
        5.0,
    ]


def test_a_cold_monitor_raises_nothing_while_it_learns_its_words() -> None:
    posts = [post(n, text, minutes=n * 5) for n, text in enumerate(OUTAGE_RUMOURS)]
    assert run(RumourDetector(), posts) == []


def test_snapshot_restore_continues_identically_and_forget() -> None:
    posts = [post(n, text, minutes=n * 5) for n, text in enumerate(OUTAGE_RUMOURS)]
    whole = run(warmed(), posts)
    first = warmed()
    run(first, posts[:3])
    second = build("rumour")
    second.restore(first.snapshot())
    assert [s for p in posts[3:] for s in second.observe(p, RULE)] == whole
    second.forget(1)
    assert second.snapshot() == RumourDetector().snapshot()
