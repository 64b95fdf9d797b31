"""Sentiment: the shipped model on Dutch (and English) examples; CV figures on shared data."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from stadspuls.enrich.sentiment import (
    FEATURE_NAMES,
    LABELS,
    Lexicon,
    SentimentClassifier,
    SentimentModel,
    SentimentPredictor,
)
from stadspuls.records import Post

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def classifier() -> SentimentClassifier:
    return SentimentClassifier()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wat een prachtige dag in Utrecht!", "positive"),
        ("Geweldig nieuws, heel blij met deze mooie uitkomst 👍", "positive"),
        ("Wat een vreselijke ramp, verschrikkelijk en diep triest 😢", "negative"),
        ("Schandalig hoe slecht dit kabinet omgaat met de zorg", "negative"),
        ("What a wonderful, lovely day, I love it!", "positive"),
        ("This is terrible, awful and disgusting", "negative"),
    ],
)
def test_clear_examples(classifier: SentimentClassifier, text: str, expected: str) -> None:
    labels, scores = classifier.predict([text])
    assert labels == [expected]
    assert 1 / 3 < scores[0] <= 1.0


def test_enricher_sets_label_and_calibrated_score(classifier: SentimentClassifier) -> None:
    posts = [
        Post(
            id=f"t:{i}",
            source="csv",
            native_id=str(i),
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            text=text,
        )
        for i, text in enumerate(
            ["Wat een prachtige dag in Utrecht!", "De vergadering is om 10 uur"]
        )
    ]
    out = classifier(posts)
    assert [p.id for p in out] == ["t:0", "t:1"]
    assert out[0].sentiment == "positive"
    assert all(p.sentiment in LABELS for p in out)
    assert all(p.sentiment_score is not None and 0 < p.sentiment_score <= 1 for p in out)


def test_probabilities_sum_to_one(classifier: SentimentClassifier) -> None:
    proba = classifier.model.predict_proba(["goed", "slecht", "", "De trein vertrekt om 8 uur"])
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_empty_batch(classifier: SentimentClassifier) -> None:
    assert classifier([]) == []


def test_restrict_to_two_labels() -> None:
    predictor = SentimentPredictor().restrict(["Negative", "positive"])
    labels, scores = predictor(["Wat een prachtig boek", "Saai en slecht geschreven boek"])
    assert labels == ["positive", "negative"]
    assert all(0.5 <= s <= 1.0 for s in scores)
    assert SentimentPredictor().restrict(["negative", "neutral", "positive"]).only is None


def test_lexicon_features_flip_after_negation() -> None:
    lexicon = Lexicon({"goed": 0.8, "slecht": -0.8})
    plain, negated = lexicon.features(["dat is goed", "dat is niet goed"])
    assert plain.shape == (len(FEATURE_NAMES),)
    pos, neg = FEATURE_NAMES.index("lex_pos_strong"), FEATURE_NAMES.index("lex_neg_strong")
    assert plain[pos] > 0
    assert plain[neg] == 0
    assert negated[neg] > 0
    assert negated[pos] == 0


def test_model_card_and_artefacts_present() -> None:
    model = SentimentModel.load()
    assert model.labels == list(LABELS)
    selection = model.text.meta["selection"]
    # the nested figure and the held-out one, recorded by the training script
    assert selection["fast"]["nested"] > 0.6
    assert selection["fast"]["heldout_macro_f1"] > 0.6
    assert selection["binary_reviews"]["heldout_accuracy"] > 0.85
    card = Path(__file__).resolve().parents[2] / "src/stadspuls/enrich/models"
    assert (card / "MODEL_CARD_sentiment_nl.md").exists()


@pytest.mark.shared_data
def test_reviews_binary_sanity(classifier: SentimentClassifier) -> None:
    """The shipped model saw these reviews in training: a sanity check, not a held-out figure."""
    path = SHARED / "sentiment_nl_reviews" / "dev.csv"
    if not path.exists():
        pytest.skip(f"needs {path} (../shared/data is not beside this checkout)")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[::10]
    labels, _ = SentimentPredictor(classifier).restrict(["negative", "positive"])(
        [r["text"] for r in rows]
    )
    accuracy = np.mean([p == r["label"] for p, r in zip(labels, rows, strict=True)])
    assert accuracy >= 0.9
