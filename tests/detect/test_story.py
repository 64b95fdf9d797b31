"""The story detector: stories form from differently worded posts about one event, grow by
distinct authors, expire, stay bounded, and the state survives a restart."""

from __future__ import annotations

import csv
import random
from datetime import UTC, timedelta

import msgspec
import pytest

from stadspuls.detect import clustering
from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.content_terms import MAX_TERMS, post_terms
from stadspuls.detect.registry import build
from stadspuls.detect.story import StoryDetector
from stadspuls.records import DETECTORS, SEVERITIES, Post, Signal
from tests.conftest import shared_data_path
from tests.detect.story_posts import EINDHOVEN, background, post
from tests.factories import T0

RULE = {1: Rule()}

# Five people describe one fire in their own words, between posts about other things.
FIRE = [
    "Grote brand in een kroeg op het Stratumseind, enorme rookwolken boven de stad",
    "Wat een rook op Stratumseind! Het lijkt erop dat er een kroeg in brand staat",
    "Brandweer massaal aanwezig bij brand in café aan het Stratumseind",
    "Kroeg op het Stratumseind staat in brand, de hele straat is afgezet door de brandweer",
    "Zware rookwolken door brand Stratumseind, brandweer is aan het blussen",
    "Nog steeds rook boven het Stratumseind na de brand in de kroeg",
]
OTHER = [
    "Mooie zonsopgang vanochtend boven de Dommel",
    "Wie gaat er zaterdag naar PSV tegen Ajax?",
    "De nieuwe fietsbrug bij het station is eindelijk open",
    "Lekker geluncht bij de markt, aanrader voor iedereen",
    "Gemeenteraad debatteert vanavond over het nieuwe parkeerbeleid",
    "Concert in het Muziekgebouw was prachtig gisteren",
]


def interleaved() -> list[Post]:
    texts = [t for pair in zip(FIRE, OTHER, strict=True) for t in pair]
    return [post(n, text, places=(EINDHOVEN,)) for n, text in enumerate(texts)]


def run(detector: Detector, posts: list[Post], rules: dict[int, Rule] = RULE) -> list[Signal]:
    return [s for p in posts for s in detector.observe(p, rules)]


def warmed(rules: dict[int, Rule] = RULE) -> StoryDetector:
    """A detector whose monitors have seen a little history (and reported its stories)."""
    detector = StoryDetector()
    assert run(detector, background(), rules) == []
    detector.stories()
    return detector


def test_differently_worded_posts_about_one_event_make_one_story_that_signals() -> None:
    detector = warmed()
    posts = interleaved()
    signals = run(detector, posts)
    fire_ids = {p.id for p in posts[0::2]}
    # The fifth distinct author raises it, the sixth raises it again (growth).
    assert [s.observed for s in signals] == [5.0, 6.0]
    assert len({s.key for s in signals}) == 1
    first = signals[0]
    assert first.detector == "story"
    assert first.monitor_id == 1
    assert first.at == posts[8].created_at
    assert first.started_at == posts[0].created_at
    assert first.expected == 5.0
    assert set(first.post_ids) <= fire_ids
    assert len(first.post_ids) <= 5
    assert {"brand", "rook"} & set(first.top_terms)
    assert first.top_places == ("Eindhoven",)
    stories = {s.key: s for s in detector.stories()}
    fire = stories[first.key]
    assert (fire.posts, fire.authors) == (6, 6)
    assert set(fire.post_ids) == fire_ids
    # Every other post stayed a story of its own.
    assert len(stories) == 1 + len(OTHER)


def test_one_author_repeating_himself_makes_no_signal() -> None:
    detector = warmed()
    posts = [post(n, text, author="same") for n, text in enumerate(FIRE * 3)]
    assert run(detector, posts) == []
    (story,) = detector.stories()
    assert (story.posts, story.authors) == (18, 1)


def test_sensitivity_scales_the_author_threshold() -> None:
    eager = run(warmed({1: Rule(sensitivity=2.0)}), interleaved()[:6], {1: Rule(sensitivity=2.0)})
    assert [s.observed for s in eager] == [3.0]  # ceil(5 / 2)
    assert run(warmed({1: Rule(sensitivity=0.5)}), interleaved(), {1: Rule(sensitivity=0.5)}) == []


def test_authors_spread_beyond_the_window_do_not_count_together() -> None:
    detector = warmed()
    slow = [post(n, text, minutes=n * 40) for n, text in enumerate(FIRE)]  # 40 min apart
    assert run(detector, slow) == []
    (story,) = detector.stories()
    assert story.authors == 6  # still one story: it lives 12 h without a post


def test_a_story_expires_after_twelve_quiet_hours() -> None:
    detector = warmed()
    run(detector, [post(0, FIRE[0]), post(1, FIRE[1])])
    (before,) = detector.stories()
    later = post(2, FIRE[2], at=T0 + clustering.EXPIRE + timedelta(minutes=5))
    run(detector, [later])
    (after,) = detector.stories()
    assert after.key != before.key
    assert after.posts == 1


def test_near_duplicates_join_the_story_of_their_original() -> None:
    detector = warmed()
    original = post(0, "Brand Stratumseind")
    copy = post(1, "RT: zie foto", duplicate_of=original.id, duplicate_kind="near")
    run(detector, [original, copy])
    (story,) = detector.stories()
    assert story.posts == 2


def test_story_records_carry_majority_incident_mean_rumour_and_places() -> None:
    detector = warmed()
    labels = ["fire", "fire", "none", "fire", None, "explosion"]
    posts = [
        post(n, text, incident_type=label, rumour_score=0.1 * n, places=(EINDHOVEN,))
        for n, (text, label) in enumerate(zip(FIRE, labels, strict=True))
    ]
    run(detector, posts)
    (story,) = detector.stories()
    assert story.incident_type == "fire"
    assert story.rumour_score == pytest.approx(0.25)
    assert story.places == ("Eindhoven",)
    assert story.first_at.tzinfo == UTC
    assert story.last_at == posts[-1].created_at
    assert detector.stories() == []  # nothing changed since


def test_snapshot_restore_continues_identically() -> None:
    posts = interleaved()
    whole = warmed()
    expected = run(whole, posts)
    first = warmed()
    run(first, posts[:7])
    second = build("story")
    second.restore(first.snapshot())
    assert second.snapshot() == first.snapshot()
    assert run(second, posts[7:]) == [s for s in expected if s.at > posts[6].created_at]
    assert second.stories() == whole.stories()


def test_forget_drops_a_monitors_stories() -> None:
    detector = warmed({1: Rule(), 2: Rule()})
    run(detector, interleaved()[:6], {1: Rule(), 2: Rule()})
    detector.forget(1)
    assert {s.monitor_id for s in detector.stories()} == {2}
    assert run(detector, interleaved()[6:], {1: Rule()}) == []


def test_posts_without_monitors_change_nothing() -> None:
    detector = warmed()
    empty = detector.snapshot()
    assert run(detector, interleaved(), {}) == []
    assert detector.snapshot() == empty


def test_memory_and_candidates_stay_bounded_on_a_long_stream() -> None:
    detector = warmed()
    rng = random.Random(7)
    words = [f"woord{i}" for i in range(20000)]
    for n in range(6000):
        text = " ".join(rng.sample(words, 12))
        detector.observe(post(n, text, minutes=n / 10), RULE)
    mon = detector.clusterer.state.monitors[1]
    assert len(mon.stories) <= clustering.MAX_STORIES
    assert max(len(keys) for keys in mon.index.values()) <= clustering.MAX_PER_TERM
    assert len(mon.index) <= clustering.MAX_STORIES * clustering.MAX_STORY_TERMS * 3 // 2
    assert len(mon.members) <= clustering.MAX_MEMBERS
    assert len(mon.df) <= clustering.MAX_DF_TERMS + MAX_TERMS
    assert all(len(s.vector) <= clustering.MAX_STORY_TERMS * 3 // 2 for s in mon.stories.values())


def test_signals_are_valid() -> None:
    detector = warmed()
    posts = interleaved()
    seen = {p.id for p in posts}
    for signal in run(detector, posts):
        assert signal.detector in DETECTORS
        assert signal.severity in SEVERITIES
        assert signal.at.tzinfo == UTC
        assert signal.started_at <= signal.at
        assert 0 < len(signal.post_ids) <= 5
        assert set(signal.post_ids) <= seen
        assert msgspec.json.decode(msgspec.json.encode(signal), type=Signal) == signal


def test_a_cold_monitor_raises_nothing_while_it_learns_its_words() -> None:
    assert run(StoryDetector(), interleaved()) == []


def test_a_flat_templated_stream_by_many_authors_raises_nothing() -> None:
    """A bot-like template ("bericht nummer N over Stratumseind") from 7 accounts, one post every
    5 minutes for three days: its words are the monitor's own, no story."""
    detector = StoryDetector()
    posts = [
        post(n, f"bericht nummer {n} over Stratumseind", author=f"user{n % 7}", minutes=5 * n)
        for n in range(3 * 24 * 12)
    ]
    assert run(detector, posts) == []


@pytest.mark.shared_data
def test_real_breaking_news_tweets_cluster_by_event() -> None:
    """PHEME source tweets of two events in the same hour (time-shifted to overlap): the stories
    that grow past one author hold tweets of one event only, and each event gets a signal."""
    path = shared_data_path("rumours_pheme", "dev.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    posts: list[Post] = []
    for event in ("germanwings-crash", "ottawashooting"):
        tweets = sorted((r for r in rows if r["event"] == event), key=lambda r: r["created_at"])
        for i, row in enumerate(tweets[:40]):
            n = len(posts)
            posts.append(post(n, row["text"], minutes=i * 1.5 + (0.5 if n >= 40 else 0)))
    posts.sort(key=lambda p: p.created_at)
    event_of = {p.id: ("gw" if int(p.native_id) < 40 else "ot") for p in posts}
    detector = warmed()
    signals = run(detector, posts)
    stories = [s for s in detector.stories() if s.authors > 1]
    assert stories
    for story in stories:
        assert len({event_of[i] for i in story.post_ids}) == 1, story.top_terms
    assert {event_of[s.post_ids[0]] for s in signals} == {"gw", "ot"}


@pytest.mark.shared_data
def test_a_flat_stream_of_unrelated_real_posts_raises_nothing() -> None:
    """Off-topic CrisisLexT26 tweets ("Not related"), one every few minutes: no story."""
    path = shared_data_path("crisis_crisislext26", "dev.csv")
    with path.open(encoding="utf-8") as handle:
        texts = [r["text"] for r in csv.DictReader(handle) if r["informativeness"] == "Not related"]
    rng = random.Random(3)
    rng.shuffle(texts)
    posts = [post(n, text, minutes=n * 3) for n, text in enumerate(texts[:1500])]
    assert run(StoryDetector(), posts) == []


def test_a_late_post_never_makes_the_window_start_after_the_signal() -> None:
    detector = warmed()
    posts = interleaved()[0::2]
    late = post(99, FIRE[2], at=posts[0].created_at - timedelta(minutes=30))
    signals = run(detector, [*posts[:4], late])
    assert len(signals) == 1
    assert signals[0].started_at == late.created_at
    assert signals[0].started_at <= signals[0].at


def test_a_term_is_one_object_however_many_posts_bring_it() -> None:
    first = post_terms("Grote brand bij de brandweerkazerne")
    second = post_terms("De brandweerkazerne meldt: geen brand meer")
    assert first[1] == second[2] == "brand"
    assert first[1] is second[2]  # interned: kept once in every table that holds it


def test_a_restored_state_keeps_each_term_and_story_key_once() -> None:
    detector = warmed()
    run(detector, interleaved())
    restored = StoryDetector()
    restored.restore(detector.snapshot())
    mon = restored.clusterer.state.monitors[1]
    df_terms = {term: term for term in mon.df}
    index_terms = {term: term for term in mon.index}
    shared = 0
    for story in mon.stories.values():
        assert mon.stories[story.key] is story
        for term in story.vector:
            if term in df_terms:
                assert df_terms[term] is term
                shared += 1
            if term in index_terms:
                assert index_terms[term] is term
    assert shared > 10
    for keys in mon.index.values():
        for key in keys:
            if key in mon.stories:
                assert key is mon.stories[key].key
    assert all(key is mon.stories[key].key for key in mon.members.values() if key in mon.stories)
    assert restored.snapshot() == detector.snapshot()


def test_a_story_types_itself_from_its_posts_labels_primary_hazard_first() -> None:
    detector = warmed()
    labels = [
        ("crash/derailment", "explosion", "fire"),
        ("crash/derailment", "fire"),
        ("fire",),
        ("none",),
        ("crash/derailment", "explosion", "fire"),
        ("none",),
    ]
    posts = [
        post(n, text, incident_type=label[0], incident_labels=label, places=(EINDHOVEN,))
        for n, (text, label) in enumerate(zip(FIRE, labels, strict=True))
    ]
    run(detector, posts)
    (story,) = detector.stories()
    assert story.incident_type == "crash/derailment"
    assert story.incident_types == ("crash/derailment", "fire", "explosion")


def test_a_snapshot_from_before_incident_votes_still_loads() -> None:
    detector = warmed()
    posts = [
        post(n, text, incident_type="fire", incident_labels=("fire",), places=(EINDHOVEN,))
        for n, text in enumerate(FIRE)
    ]
    run(detector, posts[:4])
    state = msgspec.msgpack.decode(detector.snapshot())

    def drop_votes(value: object) -> None:  # the state as it was written before the field
        if isinstance(value, dict):
            value.pop("incident_votes", None)
            for item in value.values():
                drop_votes(item)
        elif isinstance(value, list):
            for item in value:
                drop_votes(item)

    drop_votes(state)
    assert b"incident_votes" not in msgspec.msgpack.encode(state)
    restored = build("story")
    restored.restore(msgspec.msgpack.encode(state))
    run(restored, posts[4:])
    (story,) = restored.stories()
    assert story.incident_type == "fire"
    assert story.incident_types == ("fire",)
