from __future__ import annotations

import random

import pytest

from stadspuls.enrich.dedup import BATCH_LOOKUP_MIN, Deduplicator, SimHasher, canonical
from stadspuls.query.text import fold
from stadspuls.records import Post
from tests.factories import make_post

BASE = "Grote brand in een loods aan de Industrieweg in Lochem, rookwolken boven de stad"


def test_canonical_ignores_case_accents_links_mentions_and_rt() -> None:
    assert canonical("RT @x: Café BRAND! https://t.co/abc") == canonical("cafe brand")


def test_exact_near_and_repost_duplicates_are_marked_not_dropped() -> None:
    dedup = Deduplicator(window=100)
    posts = [
        make_post(1, BASE),
        make_post(2, "RT @iemand: " + BASE.upper() + " https://t.co/x"),
        make_post(3, BASE.replace("Grote", "Enorme") + " #brand #lochem"),
        make_post(4, "Vanavond concert in het park, gratis toegang voor iedereen uit de buurt"),
        make_post(5, "", repost_of="test:4"),
    ]
    out = dedup(posts)
    assert len(out) == len(posts)
    assert [(p.duplicate_of, p.duplicate_kind) for p in out] == [
        (None, None),
        ("test:1", "exact"),
        ("test:1", "near"),
        (None, None),
        ("test:4", "repost"),
    ]
    assert out[0].content_hash == out[1].content_hash
    assert out[0].simhash is not None


def test_a_different_story_is_not_a_near_duplicate() -> None:
    dedup = Deduplicator()
    out = dedup(
        [
            make_post(1, BASE),
            make_post(2, "Dijk bij Lochem houdt het, waterschap blijft de hele nacht controleren"),
        ]
    )
    assert out[1].duplicate_of is None


def test_window_forgets_old_posts_and_seed_restores_memory() -> None:
    dedup = Deduplicator(window=2)
    dedup(
        [
            make_post(1, BASE),
            make_post(2, "een ander bericht met genoeg woorden om te tellen"),
            make_post(3, "nog een heel ander bericht over iets heel anders"),
        ]
    )
    (late,) = dedup([make_post(4, BASE)])
    assert late.duplicate_of is None  # post 1 fell out of the window
    fresh = Deduplicator(window=10)
    fresh.seed([("test:1", late.content_hash, late.simhash)])
    (again,) = fresh([make_post(5, BASE)])
    assert (again.duplicate_of, again.duplicate_kind) == ("test:1", "exact")


def test_batch_fingerprints_equal_one_by_one_and_respect_post_boundaries() -> None:
    from stadspuls.enrich.dedup import SimHasher

    hasher = SimHasher()
    lists = [["brand", "in", "lochem"], ["rook", "boven", "de", "stad"], ["dijk", "houdt"]]
    batch = hasher.fingerprints(lists)
    assert batch == [hasher.fingerprint(tokens) for tokens in lists]
    assert len(set(batch)) == 3


def test_what_the_platform_tells_apart_is_no_duplicate() -> None:
    dispatch = "P 1 BDH-01 Buitenbrand container Proefstraat Zoetermeer"
    sent = [
        make_post(1, dispatch, meta={"service": "brandweer", "capcodes": ["155330"]}),
        make_post(2, dispatch, meta={"service": "brandweer", "capcodes": ["155370"]}),
        make_post(3, dispatch, meta={"service": "ambulance"}),
        make_post(4, dispatch, meta={"service": "brandweer", "capcodes": ["155330"]}),
        # one changed word in a dispatch template is another incident, not a near copy
        make_post(5, dispatch.replace("Proefstraat", "Oefenlaan"), meta={"service": "ambulance"}),
        make_post(6, dispatch),  # a post that only quotes the text
    ]
    out = Deduplicator()(sent)
    assert [(p.duplicate_of, p.duplicate_kind) for p in out] == [
        (None, None),
        (None, None),
        (None, None),
        ("test:1", "exact"),  # the same units paged again with the same text
        (None, None),
        (None, None),
    ]
    assert [p.simhash for p in out[:5]] == [None] * 5


def _stream(seed: int, n: int) -> list[Post]:
    """Posts from a small vocabulary: many near copies (one or two words changed), exact copies,
    re-delivered ids, reposts and P2000-like posts that are never near duplicates."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(40)]
    stories = [rng.choices(words, k=rng.randint(4, 14)) for _ in range(60)]
    posts = []
    for i in range(n):
        text = list(rng.choice(stories))
        for _ in range(rng.choice([0, 0, 1, 2])):
            text[rng.randrange(len(text))] = rng.choice(words)
        number = rng.randrange(i + 1) if rng.random() < 0.05 else i
        roll = rng.random()
        posts.append(
            make_post(
                number,
                " ".join(text),
                repost_of="test:0" if roll < 0.02 else None,
                meta={"service": "brandweer"} if roll > 0.98 else None,
            )
        )
    return posts


def _marks(posts: list[Post]) -> list[tuple[object, ...]]:
    return [(p.content_hash, p.simhash, p.duplicate_of, p.duplicate_kind) for p in posts]


@pytest.mark.parametrize(("seed", "window"), [(1, 40), (2, 300), (3, 5000)])
def test_batches_mark_what_one_post_at_a_time_marks(seed: int, window: int) -> None:
    # One post at a time takes `find_near` on the live index; a batch takes the numpy lookup
    # over the index as it was plus the batch's own fingerprints, with evictions in between
    # (the small windows evict inside a batch). Both must give the same answers.
    posts = _stream(seed, 3000)
    single = Deduplicator(window=window)
    one_by_one = [marked for post in posts for marked in single([post])]
    batched = Deduplicator(window=window, batch_lookup_from=0)
    rng = random.Random(seed)
    out: list[Post] = []
    while len(out) < len(posts):
        size = rng.choice([BATCH_LOOKUP_MIN, 250, 1000])
        out.extend(batched(posts[len(out) : len(out) + size]))
    assert _marks(out) == _marks(one_by_one)
    kinds = {p.duplicate_kind for p in out}
    assert {"near", "exact", "repost", None} <= kinds  # the stream exercised every path


def test_a_copy_gets_the_fingerprint_of_its_text() -> None:
    dedup = Deduplicator(window=100, cache_size=2)
    texts = [BASE, BASE + " vandaag", BASE + " gisteren", BASE]
    out = dedup([make_post(i, text) for i, text in enumerate(texts)])
    for post, text in zip(out, texts, strict=True):
        expected = SimHasher().fingerprint(canonical(text).split())
        assert post.simhash is not None
        assert post.simhash % (1 << 64) == expected


def test_canonical_with_the_folded_text_equals_canonical_alone() -> None:
    for text in [BASE + " #brand #lochem", "RT @x: Café ＃tag ½ #ﬁets", "Straße #Zürich", ""]:
        assert canonical(text, fold(text)) == canonical(text)
