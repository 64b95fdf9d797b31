from __future__ import annotations

from stadspuls.enrich.dedup import Deduplicator, canonical
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
