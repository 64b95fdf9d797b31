from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadspuls.query.matcher import MonitorMatcher, compile_query, near, required_keys
from stadspuls.query.parser import parse
from stadspuls.records import Place, Post

GRONINGEN = Place("GM0014", "Groningen", "Groningen", 53.2, 6.57)
DEN_BOSCH = Place("GM0796", "Den Bosch", "'s-Hertogenbosch", 51.69, 5.3)
PSEUDONYM = "u0123456789abcdef"


def post(text: str, **fields: Any) -> Post:
    values: dict[str, Any] = {
        "id": "test:1",
        "source": "bluesky",
        "native_id": "1",
        "created_at": datetime(2024, 12, 31, 23, 0, tzinfo=UTC),
        "text": text,
        "lang": "nl",
    }
    values.update(fields)
    return Post(**values)


def matches(query: str, item: Post) -> bool:
    compiled = compile_query(query, pseudonymise=lambda handle: PSEUDONYM)
    result = compiled.matches(item)
    # The multi-monitor path (Aho-Corasick pre-filter) must say the same.
    assert (MonitorMatcher({"m": compiled}).match(item) == ["m"]) is result
    return result


STRATUM = '(stratumseind OR "stratum seind" OR #stratumseind) AND NOT (voetbal OR psv) lang:nl'


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("Vechtpartij op het Stratumseind", {}, True),
        ("vechtpartij op stratum seind", {}, True),
        ("Druk op #Stratumseind", {}, True),
        ("Na PSV naar Stratumseind", {}, False),
        ("Stratumseind", {"lang": "en"}, False),
        ("Stratumseind", {"lang": None}, False),
        ("stratumseindje", {}, False),
    ],
)
def test_stratumseind_monitor(text: str, fields: dict[str, Any], expected: bool) -> None:
    assert matches(STRATUM, post(text, **fields)) is expected


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("Brand in de fabriek", "bluesky", True),
        ("brandweer rukt uit naar loods", "rss", True),
        ("Loods in brand", "rss", True),  # either order
        ("brand bij de oude lege loods", "rss", False),  # four words between
        ("brand bij de oude loods", "rss", True),  # three
        ("Brand in de fabriek", "mastodon", False),
        ("fabriek", "bluesky", False),
    ],
)
def test_near_monitor(text: str, source: str, expected: bool) -> None:
    query = "brand* NEAR/3 (fabriek OR loods) source:bluesky,rss"
    assert matches(query, post(text, source=source)) is expected


def test_place_filter_prefers_recognised_places() -> None:
    query = '#bommenberend OR ("groningen" AND (stroomstoring OR vuurwerk)) place:Groningen'
    assert matches(query, post("Stroomstoring in Groningen"))  # no places yet: the text decides
    assert matches(query, post("Stroomstoring in Groningen", places=(GRONINGEN,)))
    # Recognised places win over the text: this Groningen is not the place found.
    assert not matches(query, post("Stroomstoring Groningen", places=(DEN_BOSCH,)))
    assert matches(query, post("Weer #BommenBerend"))
    assert not matches(query, post("vuurwerk in Assen"))
    assert matches("place:'s-Hertogenbosch", post("iets", places=(DEN_BOSCH,)))
    assert matches('place:"den bosch"', post("iets", places=(DEN_BOSCH,)))
    assert not matches("place:Groningen", post("iets", places=(DEN_BOSCH,)))


def test_hashtags_need_the_sigil_or_the_metadata() -> None:
    assert matches("#brand", post("Grote #brand"))
    assert not matches("#brand", post("Grote brand"))
    assert matches("#brand", post("Grote brand", hashtags=("Brand",)))
    # A tag only in the metadata does not match: the text must carry its words.
    assert not matches("#brand", post("Grote vlammen", hashtags=("brand",)))
    assert matches("#brand NEAR/1 loods", post("#brand in loods"))


def test_mentions_match_on_the_pseudonym() -> None:
    assert matches("@politie_rdam", post(f"dank @{PSEUDONYM}!", mentions=(PSEUDONYM,)))
    assert matches("@politie_rdam", post(f"dank @{PSEUDONYM}!"))
    assert not matches("@politie_rdam", post(f"dank {PSEUDONYM}"))
    assert not matches("@politie_rdam", post("dank @politie_rdam"))


def test_case_accents_and_prefixes() -> None:
    assert matches("cafe", post("Café De Zwaan"))
    assert matches("CAFÉ", post("cafe de zwaan"))
    assert matches("brand*", post("BRANDWEER"))
    assert not matches("brand*", post("grootbrand"))
    assert matches('"stratum sei*"', post("Stratum Seindje"))
    assert matches("wi-fi", post("WiFi? nee: wi fi"))
    assert not matches("wi-fi", post("wifi"))


def test_not_filters_and_empty_query() -> None:
    assert matches("NOT psv", post("Ajax wint"))
    assert not matches("-psv", post("PSV wint"))
    assert matches("has:media", post("foto", media=("https://x/y.jpg",)))
    assert not matches("has:link", post("foto", media=("https://x/y.jpg",)))
    assert matches("", post("alles"))


def test_required_keys_drive_the_prefilter() -> None:
    # Keys are found in the tokens joined by spaces: whole words, prefixes, whole phrases.
    assert required_keys(parse("brand loods").root) in (
        frozenset({" brand "}),
        frozenset({" loods "}),
    )
    assert required_keys(parse('brand* OR #vuur OR "stratum seind"').root) == frozenset(
        {" brand", " vuur ", " stratum seind "}
    )
    assert required_keys(parse("NOT brand").root) is None
    assert required_keys(parse("brand OR lang:nl").root) is None
    assert required_keys(parse("lang:nl brandweer -rook").root) == frozenset({" brandweer "})
    assert required_keys(parse("place:Groningen").root) is None


def test_many_monitors_at_once() -> None:
    matcher = MonitorMatcher(
        {
            1: "brand*",
            2: "loods NOT brandweer",
            3: "NOT brand*",
            4: "lang:en",
            5: '"grote brand"',
        }
    )
    assert matcher.match(post("Grote brand in de loods")) == [1, 2, 5]
    assert matcher.match(post("rustig")) == [3]
    assert matcher.match_many([post("brandweer bij loods", lang="en"), post("x")]) == [
        [1, 4],
        [3],
    ]


def _near_by_pairs(left: list[tuple[int, int]], right: list[tuple[int, int]], d: int) -> bool:
    """The definition, pair by pair (FTS5's rule)."""
    return any(
        (rs - ls - lw if ls <= rs else ls - rs - rw) <= d for ls, lw in left for rs, rw in right
    )


_occurrence_lists = st.lists(st.tuples(st.integers(0, 60), st.integers(1, 4)), max_size=12)


@given(_occurrence_lists, _occurrence_lists, st.integers(0, 10))
def test_near_agrees_with_its_pairwise_definition(
    left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int
) -> None:
    assert near(left, right, distance) == _near_by_pairs(left, right, distance)


def test_near_over_long_posts_is_not_quadratic() -> None:
    """Two words on every other token of a long text, never close enough: the pairwise test
    took ~12 s for these 20,000 x 20,000 occurrences."""
    left = [(i, 1) for i in range(0, 400_000, 20)]
    right = [(i, 1) for i in range(10, 400_000, 20)]
    started = time.perf_counter()
    assert not near(left, right, 8)
    assert near(left, right, 9)
    assert time.perf_counter() - started < 1.0
