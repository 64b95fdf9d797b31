"""Language identification: fastText + declared prior + lingua second opinion."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stadspuls.enrich.language import (
    DECLARED_CONFIRMED_SCORE,
    LanguageIdentifier,
    LanguagePredictor,
    clean,
    confirms,
)
from stadspuls.records import Post

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    # Four languages keep lingua's one-off model loading short in the test run.
    return LanguageIdentifier(["nl", "en", "de", "fr"])


def post(text: str, declared: str | None = None, source: str = "csv") -> Post:
    return Post(
        id="t:1",
        source=source,
        native_id="1",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        text=text,
        lang_declared=declared,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Er is brand in Utrecht", "nl"),  # fastText alone says German
        ("Wat een prachtige dag in Utrecht!", "nl"),
        (
            "Grote brand in een loods aan de haven, de brandweer is met veel materieel aanwezig",
            "nl",
        ),
        ("Huge fire near the station, police have closed the road", "en"),
        ("Die Feuerwehr ist mit vielen Fahrzeugen vor Ort", "de"),
        ("Les pompiers sont sur place depuis ce matin", "fr"),
    ],
)
def test_identifies_without_declaration(
    identifier: LanguageIdentifier, text: str, expected: str
) -> None:
    ((lang, score),) = identifier.identify([text])
    assert lang == expected
    assert score is not None
    assert 0.0 < score <= 1.0


def test_declared_language_confirmed_by_function_words_skips_models(
    identifier: LanguageIdentifier,
) -> None:
    before = dict(identifier.stats)
    (out,) = identifier([post("Het is niet zo dat we er nog niets van weten", "nl")])
    assert out.lang == "nl"
    assert out.lang_declared == "nl"
    assert out.lang_score == DECLARED_CONFIRMED_SCORE
    assert identifier.stats["declared"] == before["declared"] + 1


def test_wrong_declaration_is_overruled(identifier: LanguageIdentifier) -> None:
    (out,) = identifier(
        [post("The police have closed the road near the station after a fire", "nl")]
    )
    assert out.lang == "en"
    assert out.lang_declared == "nl"  # the platform's claim is recorded as it was


def test_declared_prior_decides_a_short_ambiguous_text(identifier: LanguageIdentifier) -> None:
    (out,) = identifier([post("Brand Utrecht", "nl")])
    assert out.lang == "nl"


def test_unconfigured_language_keeps_fasttext_code_when_sure() -> None:
    identifier = LanguageIdentifier(["nl", "en"])
    ((lang, _),) = identifier.identify(
        ["Bugün İstanbul'da hava çok güzel ve insanlar sahilde yürüyüş yapıyor"]
    )
    assert lang == "tr"


def test_empty_text_takes_declared_language_without_score(identifier: LanguageIdentifier) -> None:
    (out,) = identifier([post("https://example.org @u0123456789abcdef 🔥🔥", "nl")])
    assert out.lang == "nl"
    assert out.lang_score is None


def test_clean_drops_links_and_handles() -> None:
    assert clean("Kijk https://x.nl @u0123456789abcdef #Utrecht\nnu") == "Kijk Utrecht nu"


def test_confirms_needs_clear_evidence() -> None:
    assert confirms("het is niet waar dat we dit willen", "nl")
    assert not confirms("brand Utrecht", "nl")
    assert not confirms("the house is on fire and the road is closed", "nl")


def test_predictor_restricts_to_data_languages() -> None:
    predictor = LanguagePredictor(["nl"]).restrict(["nl", "af"])
    labels, scores = predictor(["Er is brand in Utrecht", "Dit is 'n baie mooi dag vandag"])
    assert labels == ["nl", "af"]
    assert len(scores) == 2


@pytest.mark.shared_data
def test_accuracy_on_lingua_sentences_sample() -> None:
    path = SHARED / "langid" / "lingua_testdata.csv"
    if not path.exists():
        pytest.skip(f"needs {path} (../shared/data is not beside this checkout)")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["granularity"] == "sentences" and r["lang"] in {"nl", "en", "de", "af", "fr"}
        ]
    rows = random.Random(0).sample(rows, 500)
    languages = sorted({r["lang"] for r in rows})
    found = LanguageIdentifier(languages).identify([r["text"] for r in rows])
    accuracy = sum(lang == r["lang"] for (lang, _), r in zip(found, rows, strict=True)) / len(rows)
    assert accuracy >= 0.97  # all 18 languages: 0.983 (MODEL_CARD_language.md)


def test_a_source_that_declares_reliably_is_trusted(identifier: LanguageIdentifier) -> None:
    # P2000 dispatch code reads as anything but Dutch to a model; the service pages in Dutch.
    dispatch = "P 1 Ass. AMBU (INCI-01) (Inzet Brw: aed) Oefenring Rotterdam"
    (untrusted,) = LanguageIdentifier(["nl", "en", "de", "fr"], trusted_sources=())(
        [post(dispatch, "nl", "p2000")]
    )
    assert untrusted.lang != "nl"
    before = identifier.stats["trusted"]
    pager, news = identifier([post(dispatch, "nl", "p2000"), post(dispatch, "nl", "rss")])
    assert (pager.lang, pager.lang_score) == ("nl", 1.0)
    assert identifier.stats["trusted"] == before + 1
    assert news.lang_score != 1.0  # other sources still go through the models


def test_a_text_seen_again_gets_the_answer_it_got_before() -> None:
    texts = [
        "Er is brand in Utrecht",  # short: the second opinion (lingua)
        "Grote brand in een loods aan de Industrieweg, de brandweer is met veel mensen ter plaatse",
        "the fire is spreading to the north of the city and people are leaving their homes",
        "Er is brand in Utrecht",
        "ok",
    ]
    declared = ["nl", None, "en", "nl", None]

    def same(
        found: list[tuple[str | None, float | None]], wanted: list[tuple[str | None, float | None]]
    ) -> bool:
        # lingua's scores may differ in the last bit between a batch and a single text.
        return [lang for lang, _ in found] == [lang for lang, _ in wanted] and [
            score for _, score in found
        ] == pytest.approx([score for _, score in wanted], rel=1e-12)

    fresh = LanguageIdentifier(cache_size=0)
    expected = [fresh.identify([t], [d])[0] for t, d in zip(texts, declared, strict=True)]
    cached = LanguageIdentifier(cache_size=3)
    # Copies inside a batch (one waiting for the second opinion) and across batches.
    first = cached.identify(texts, declared)
    assert same(first, expected)
    assert first[3] == first[0]
    assert cached.stats["cached"] == 1
    again = cached.identify(texts[::-1], declared[::-1])
    assert same(again, expected[::-1])
    # The cache kept the last three distinct texts (not the first): three answers from it,
    # and the copy of the first in this batch.
    assert cached.stats["cached"] == 1 + 4
    assert same(
        cached.identify(["Er is brand in Utrecht"], [None]),
        fresh.identify(["Er is brand in Utrecht"], [None]),
    )  # another declared language is another question
    assert cached.stats["cached"] == 1 + 4
