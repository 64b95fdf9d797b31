"""Transferable cue features (rumour_cues) and the shipped rumour/informativeness models."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from stadspuls.enrich.crisis import LabelPredictor
from stadspuls.enrich.heads import load_head
from stadspuls.enrich.rumour_cues import CUE_NAMES, cue_matrix, cues_of, mask

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"shared data not found at {DATA} (not redistributable)"
)


@pytest.mark.parametrize(
    "text",
    [
        "Naar verluidt zijn er schoten gelost bij het station",
        "Er zou een explosie zijn geweest in de haven",
        "Onbevestigde berichten over een aanslag in het centrum",
        "Reportedly two gunmen are still inside the building",
        "Unconfirmed: the suspect has been arrested",
        "Police have allegedly found a second device",
    ],
)
def test_hedges_in_dutch_and_english(text: str) -> None:
    assert cues_of(text).get("hedge", 0) > 0


@pytest.mark.parametrize(
    "text",
    [
        "Dit is nepnieuws, de politie ontkent het",
        "Klopt niet, er is helemaal geen brand",
        "That photo is fake, the police denied it",
        "Hoax: no shark was seen on the highway",
    ],
)
def test_denials_in_dutch_and_english(text: str) -> None:
    assert cues_of(text).get("denial", 0) > 0


@pytest.mark.parametrize(
    "text",
    [
        "Klopt dit? Er zou brand zijn bij de Kerkstraat",
        "Weet iemand wat er aan de hand is in Lochem?",
        "Is this true? Shots fired at the parliament",
        "Can anyone confirm the hostages were released?",
    ],
)
def test_questions_asking_for_confirmation(text: str) -> None:
    cues = cues_of(text)
    assert cues["question"] == 1.0
    assert cues.get("ask_confirm", 0) > 0 or cues.get("question_start", 0) > 0


def test_plain_statements_carry_no_rumour_cues() -> None:
    for text in ("Lekker weer vandaag in Utrecht", "The new library opens on Monday"):
        cues = cues_of(text)
        assert not {"hedge", "denial", "ask_confirm", "question", "share"} & cues.keys()


def test_other_families_dutch_and_english() -> None:
    assert cues_of("Graag delen! Vermiste jongen in Zwolle")["share"] > 0
    assert cues_of("Please RT: blood donors needed")["share"] > 0
    assert cues_of("BREAKING: explosion at the plant")["breaking"] > 0
    assert cues_of("Volgens de politie is de weg afgesloten")["attribution"] > 0
    assert cues_of("Two dead according to police")["attribution"] > 0
    assert cues_of("3 doden en 12 gewonden bij busongeluk")["casualties"] > 0
    assert cues_of("Vrijwilligers en voedsel nodig in de opvang")["needs"] > 0
    assert cues_of("Blijf binnen en houd ramen en deuren gesloten")["advice"] > 0
    assert cues_of("Ik hoorde net een enorme knal hier")["witness"] > 0


def test_cue_matrix_is_a_bounded_row_per_text() -> None:
    texts = ["RT @a: BREAKING!!! #x http://t.co/y 12 dead?", "", "ok"]
    m = cue_matrix(texts)
    assert m.shape == (3, len(CUE_NAMES))
    assert m.dtype == np.float32
    assert m.min() >= 0.0
    assert m.max() <= 1.0
    assert set(cues_of("")) == {"short"}  # an empty post is short, and nothing else
    assert m[1].sum() == 1.0
    assert m[0].sum() > m[2].sum()


def test_mask_removes_what_is_specific_to_one_event() -> None:
    out = mask("RT @nytimes: Gunman in Sydney cafe holds 13 hostages #sydneysiege http://t.co/x")
    for event_word in ("nytimes", "sydney", "13", "sydneysiege", "t.co"):
        assert event_word not in out
    assert "gunman" in out  # the first word of a sentence may be a common noun: kept
    assert "hostages" in out
    assert "xname" in out
    assert "xtag" in out
    assert "xurl" in out


def test_mask_keeps_shouted_cue_words() -> None:
    assert "breaking" in mask("Shots fired BREAKING news")


# --- the shipped models ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rumour", "informativeness"])
def test_shipped_fast_and_accurate_models_share_labels(name: str) -> None:
    fast = LabelPredictor(name).model
    head = load_head(name)
    assert head is not None, f"models/{name}_e5.npz is missing"
    assert head.labels == fast.labels
    # the embedding (unless the nested selection chose a head of extras alone) + the extras
    width = (384 if head.embedded else 0) + sum(extra(["x"]).shape[1] for extra in head.extras)
    assert head.model.coef.shape == (len(head.labels), width)


def pheme_sample(per_label: int) -> tuple[list[str], list[str]]:
    with (DATA / "rumours_pheme" / "dev.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rng = random.Random(0)
    texts: list[str] = []
    labels: list[str] = []
    for label in ("rumour", "non-rumour"):
        chosen = rng.sample([r for r in rows if r["label"] == label], per_label)
        texts += [r["text"] for r in chosen]
        labels += [label] * per_label
    return texts, labels


@needs_data
@pytest.mark.shared_data
def test_accurate_rumour_predictor_scores_sensibly() -> None:
    """In-sample (the shipped head saw these posts): the wiring, encoder and extras agree with
    training; the unseen-event figures are in MODEL_CARD_rumour.md."""
    from stadspuls.enrich.crisis import load_accurate_rumour_predictor

    texts, gold = pheme_sample(12)  # 24 texts: ~1 s of encoding
    predicted, scores = load_accurate_rumour_predictor()(texts)
    assert all(0.5 <= s <= 1.0 for s in scores)
    accuracy = np.mean([p == g for p, g in zip(predicted, gold, strict=True)])
    assert accuracy >= 0.7


@needs_data
@pytest.mark.shared_data
def test_accurate_informativeness_predictor_scores_sensibly() -> None:
    """In-sample wiring check, as for rumour (unseen-event figures: the model card)."""
    from stadspuls.enrich.crisis import load_accurate_informativeness_predictor

    names = {
        "Related and informative": "related and informative",
        "Related - but not informative": "related not informative",
        "Not related": "not related",
    }
    with (DATA / "crisis_crisislext26" / "dev.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["informativeness"] in names]
    rng = random.Random(0)
    chosen = [
        row
        for label in names
        for row in rng.sample([r for r in rows if r["informativeness"] == label], 8)
    ]
    predicted, scores = load_accurate_informativeness_predictor()([r["text"] for r in chosen])
    assert all(1 / 3 <= s <= 1.0 for s in scores)
    gold = [names[r["informativeness"]] for r in chosen]
    assert np.mean([p == g for p, g in zip(predicted, gold, strict=True)]) >= 0.5  # chance: 1/3
