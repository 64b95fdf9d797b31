"""Sentiment: informal Dutch (elongations, emoji, negation, intensifiers); the accurate stage."""

from __future__ import annotations

import numpy as np
import pytest

from stadspuls.enrich import heads
from stadspuls.enrich.embeddings import default_encoder
from stadspuls.enrich.sentiment import (
    FEATURE_NAMES,
    LABELS,
    Lexicon,
    LexiconOptions,
    accurate_proba,
    load_accurate_predictor,
    shorten_elongations,
)

POS_STRONG = FEATURE_NAMES.index("lex_pos_strong")
POS_WEAK = FEATURE_NAMES.index("lex_pos_weak")
NEG_STRONG = FEATURE_NAMES.index("lex_neg_strong")
NEG_WEAK = FEATURE_NAMES.index("lex_neg_weak")
EMOJI_POS = FEATURE_NAMES.index("emoji_pos")
EMOJI_NEG = FEATURE_NAMES.index("emoji_neg")
WORDS = {"mooi": 0.8, "heel": 0.1, "goed": 0.4, "slecht": -0.8, "probleem": -0.6, "erg": -0.4}


def features(text: str, **options: bool) -> np.ndarray:
    row: np.ndarray = Lexicon(WORDS, LexiconOptions(**options)).features([text])[0]
    return row


def test_elongated_words_are_read_as_their_plain_spelling() -> None:
    assert shorten_elongations("mooooi") == ["mooi", "moi"]
    assert shorten_elongations("mooi") == []
    assert features("heeeel mooooi", elongation=True)[POS_STRONG] > 0
    assert features("heeeel mooooi")[POS_STRONG] == 0  # off: the elongated word is unknown
    # "nooooit" is still a negation once shortened
    assert features("nooooit goed", elongation=True)[NEG_WEAK] > 0


def test_emoticons_and_more_emoji_count_with_the_option() -> None:
    happy = features("Top dag :) ;-) <3 😉", emoji=True)
    assert happy[EMOJI_POS] == pytest.approx(np.log1p(4))
    assert happy[EMOJI_NEG] == 0
    sad = features("Jammer :( :'( 🤦", emoji=True)
    assert sad[EMOJI_NEG] == pytest.approx(np.log1p(3))
    assert features("Top dag :)")[EMOJI_POS] == 0  # off: emoticons are not read
    # a link's "://" is not a frown
    assert features("lees https://example.org/x", emoji=True)[EMOJI_NEG] == 0


def test_negation_reaches_past_a_hedge_up_to_the_clause_end() -> None:
    assert features("niet echt goed", negation_scope=True)[NEG_WEAK] > 0
    # without the scope, only the word right after the negation flips ("echt", unscored here)
    assert features("niet echt goed")[POS_WEAK] > 0
    assert features("geen probleem", negation_scope=True)[POS_STRONG] > 0
    after = features("niet slecht, maar wel mooi", negation_scope=True)
    assert after[POS_STRONG] == pytest.approx(np.log1p(2))  # "slecht" flipped, "mooi" is not
    assert after[NEG_STRONG] == 0


def test_intensifiers_grade_the_next_word_instead_of_scoring_themselves() -> None:
    graded = features("erg goed", intensifiers=True)
    assert graded[POS_STRONG] > 0  # 0.4 x 1.5 = 0.6
    assert graded[NEG_WEAK] == 0  # "erg" (as the noun "bad") no longer counts
    plain = features("erg goed")
    assert plain[NEG_WEAK] > 0
    assert plain[POS_WEAK] > 0


def test_the_accurate_head_loads_through_the_generic_stage() -> None:
    head = heads.load_head("sentiment_nl")
    assert head is not None
    texts = ["Wat een prachtige dag!", "Dit is echt slecht nieuws"]
    vectors = np.zeros((2, 384), dtype=np.float32)
    proba = head.proba(texts, vectors)
    assert proba.shape == (2, len(head.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_accurate_proba_agrees_with_the_accurate_predictor() -> None:
    texts = [
        "Wat een prachtige dag in Utrecht, heel blij!",
        "Schandalig hoe slecht dit kabinet omgaat met de zorg",
        "De vergadering begint om 10 uur in het stadhuis",
    ]
    vectors = default_encoder().encode(texts)
    proba = accurate_proba(texts, vectors)
    assert proba.shape == (3, len(LABELS))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    labels, scores = load_accurate_predictor()(texts)
    assert labels == [LABELS[i] for i in proba.argmax(axis=1)]
    np.testing.assert_allclose(scores, proba.max(axis=1), rtol=1e-4)
    assert labels[0] == "positive"
    assert labels[1] == "negative"
