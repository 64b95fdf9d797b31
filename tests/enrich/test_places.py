"""Places: Dutch names in text -> CBS code and coordinates, with ambiguity rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stadspuls.enrich.places import PlaceMatcher, PlaceRecognizer, fold, load_table
from stadspuls.records import Post


@pytest.fixture(scope="module")
def matcher() -> PlaceMatcher:
    return PlaceMatcher()


def codes(matcher: PlaceMatcher, text: str) -> list[str]:
    return [p.code for p in matcher.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Den Bosch", ["GM0796"]),
        ("Brand in 's-Hertogenbosch", ["GM0796"]),
        ("Naar ’s-Hertogenbosch", ["GM0796"]),
        ("Veel politie in Den Haag", ["GM0518"]),
        ("'s-Gravenhage, gemeentehuis", ["GM0518"]),
        ("Stroomstoring in A'dam en Amsterdam-Noord", ["GM0363"]),
        ("Mokum is vol", ["GM0363"]),
        ("utrecht centraal ontruimd", ["GM0344"]),
        ("#Utrecht #Rotterdam", ["GM0344", "GM0599"]),
        ("Carnaval in Bergen op Zoom", ["GM0748"]),
        ("Wateroverlast in Ede en Epe", ["GM0228", "GM0232"]),
        ("Storm in Goes", ["GM0664"]),
        ("Sudwest-Fryslan en Súdwest-Fryslân", ["GM1900"]),
        ("Ongeluk in Best op de A2", ["GM0753"]),
        ("#Best brand", ["GM0753"]),
        ("Wateroverlast in Sluis", ["GM1714"]),
        ("Brand bij “Den Bosch”🔥", ["GM0796"]),
    ],
)
def test_finds_places(matcher: PlaceMatcher, text: str, expected: list[str]) -> None:
    assert codes(matcher, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Best wel druk vandaag",  # "best" = quite
        "Het beste van het jaar",
        "De sluis is dicht",  # sluis = lock
        "In de bergen is het koud",
        "It goes well, the best day",
        "Utrechtse heuvels",  # adjective, not the city
        "Amsterdammers",
        "Ik ga naar huizen kijken",
    ],
)
def test_ignores_common_words(matcher: PlaceMatcher, text: str) -> None:
    assert codes(matcher, text) == []


def test_place_record_has_code_name_and_coordinates(matcher: PlaceMatcher) -> None:
    (place,) = matcher.find("Den Bosch")
    assert place.name == "Den Bosch"
    assert place.municipality == "'s-Hertogenbosch"
    assert 51.6 < place.lat < 51.8
    assert 5.2 < place.lon < 5.5


def test_longest_match_wins(matcher: PlaceMatcher) -> None:
    (place,) = matcher.find("Bergen op Zoom")
    assert place.name == "Bergen op Zoom"


def test_table_covers_every_municipality() -> None:
    table = load_table()
    municipalities = {e.place.code for e in table}
    assert len(municipalities) >= 342
    assert all(e.place.code.startswith("GM") for e in table)
    assert all(50.7 < e.place.lat < 53.6 and 3.3 < e.place.lon < 7.3 for e in table)


def test_fold_keeps_length() -> None:
    for text in ["Súdwest-Fryslân", "’s-Hertogenbosch", "İstanbul", "emoji 🔥 x"]:
        assert len(fold(text)) == len(text)


def test_enricher_sets_places_and_leaves_coordinates_alone() -> None:
    post = Post(
        id="t:1",
        source="csv",
        native_id="1",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        text="Grote brand in Den Bosch, rook tot in Utrecht",
        author="someone in Groningen",
    )
    (out,) = PlaceRecognizer()([post])
    assert [p.code for p in out.places] == ["GM0796", "GM0344"]
    assert out.lat is None
    assert out.lon is None
