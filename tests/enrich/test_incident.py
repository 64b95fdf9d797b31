"""The incident vocabulary: matching rules and the Dutch words it must know."""

from __future__ import annotations

import pytest

from stadspuls.enrich.incident import (
    CONCEPTS,
    LABELS,
    VOCABULARY,
    Vocabulary,
    default_vocabulary,
    label_of_concept,
    map_event_type,
    rule_label,
)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Uitslaande brand in een loods in Lochem", "fire"),
        ("Dijk bij Lochem dreigt door te breken, wateroverlast", "flood"),
        ("Schietpartij op Stratumseind", "shooting/violence"),
        ("P 1 BRT-01 BR woning Kerkstraat Utrecht 123456", "fire"),
        ("Ongeval wegvervoer letsel A12 Gouda", "crash/derailment"),
        ("Trein ontspoord bij Meppel", "crash/derailment"),
        ("Windhoos trekt over Zeeland", "storm"),
        ("Lichte aardbeving in Groningen", "earthquake"),
        ("Ontploffing bij een winkel in Rotterdam", "explosion"),
        ("Ongeregeldheden in het centrum van Den Haag", "riot/disorder"),
        ("Uitbraak van legionella in Boxtel", "outbreak/health"),
        ("Grote stroomstoring in Amsterdam", "infrastructure outage"),
        ("Flat ingestort in Tilburg", "collapse"),
        ("Waldbrand bei Berlin", "fire"),
        ("Incendie à Lyon", "fire"),
        ("#qldfloods the river keeps rising", "flood"),
        ("#terremotocr qué susto", "earthquake"),
        ("Heavy smog over the city today", "other"),
    ],
)
def test_vocabulary_names_the_incident(text: str, label: str) -> None:
    assert rule_label(text) == label


@pytest.mark.parametrize(
    "text",
    [
        "Brandenburg is een mooie deelstaat",  # "brand" only as a whole word or compound head
        "De brandstof is weer duurder geworden",
        "Lekker weer vandaag in Utrecht",
        "Wat een mooi merk",
    ],
)
def test_vocabulary_ignores_lookalikes(text: str) -> None:
    assert default_vocabulary().concepts(text) == []


def test_compounds_and_inflections() -> None:
    vocabulary = default_vocabulary()
    assert vocabulary.concepts("Woningbrand in Zwolle") == ["fire"]  # compound prefix (*brand)
    assert vocabulary.concepts("Twee branden in Assen") == ["fire"]  # inflection
    assert vocabulary.concepts("overstromingen in Limburg") == ["flood"]  # continuation (*)


def test_matrix_has_one_column_per_concept() -> None:
    matrix = default_vocabulary().matrix(["brand en explosie", "niets", "storm"])
    assert matrix.shape == (3, len(CONCEPTS))
    assert matrix[0].nnz == 2
    assert matrix[1].nnz == 0


def test_every_concept_has_dutch_and_english_words() -> None:
    for concept in CONCEPTS:
        assert VOCABULARY[concept].get("nl"), concept
        assert VOCABULARY[concept].get("en"), concept
        assert label_of_concept(concept) in LABELS


def test_custom_vocabulary() -> None:
    vocabulary = Vocabulary({"fire": {"nl": ("vuurtje",)}})
    assert vocabulary.concepts("een vuurtje") == ["fire"]
    assert vocabulary.concepts("een brand") == []


@pytest.mark.parametrize(
    ("event_type", "label"),
    [
        ("Wildfire", "fire"),
        ("Floods", "flood"),
        ("Typhoon", "storm"),
        ("Earthquake", "earthquake"),
        ("Explosion", "explosion"),
        ("Bombings", "explosion"),
        ("Shootings", "shooting/violence"),
        ("Derailment", "crash/derailment"),
        ("Meteorite", "other"),
        ("Haze", "other"),
        ("Something new", "other"),
    ],
)
def test_crisislex_types(event_type: str, label: str) -> None:
    assert map_event_type(event_type) == label
