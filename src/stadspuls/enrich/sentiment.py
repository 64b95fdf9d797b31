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

The accurate stage (`accurate=True`, `load_accurate_predictor()`, or `accurate_proba(texts,
vectors)` with precomputed multilingual-e5-small vectors from `enrich.embeddings`) reads
`sentiment_nl_e5.npz`, a head in the format of `enrich.heads`, and mixes its probabilities with a
fast model's at the weight the nested CV chose, temperature-scaled. The embedding costs ~35-60 ms
a post: for posts that match a monitor or join a story, not for every post at the door.

The lexicon's reading of informal Dutch (`LexiconOptions`: elongations, emoticons, negation
scope, intensifiers) is stored in each lexicon block's metadata, as the selection chose it.

`sentiment_score` is P(label) after temperature scaling fitted on out-of-fold predictions.
Artefacts (see models/MODEL_CARD_sentiment_nl.md): `sentiment_nl.npz` (text block),
`sentiment_nl_lexicon.npz` (lexicon block), `sentiment_nl_binary*.npz` (a negative-vs-positive
head for callers and files with only those two labels), `sentiment_nl_e5.npz` (the e5 head),
`sentiment_nl_mix*.npz` (the mix's own fast model, when it differs from the fast stage's),
`sentiment_lexicon.tsv` (the derived lexicon).
"""

from __future__ import annotations

import functools
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

from stadspuls.enrich.embeddings import default_encoder
from stadspuls.enrich.heads import EmbeddingHead, head_path
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
        "niks",
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
# Words that make the next opinion word stronger (Dutch and English). Several carry a polarity of
# their own in the source lexicons ("erg" -0.4 and "zeer" -0.5 as the nouns "bad" and "pain",
# "echt" and "super" positive), which is wrong when they only grade the word after them.
INTENSIFIERS = frozenset(
    [
        "heel",
        "erg",
        "zeer",
        "echt",
        "super",
        "enorm",
        "ontzettend",
        "hartstikke",
        "reuze",
        "verschrikkelijk",
        "vreselijk",
        "ongelooflijk",
        "bijzonder",
        "uiterst",
        "extreem",
        "mega",
        "totaal",
        "intens",
        "behoorlijk",
        "zo",
        "very",
        "really",
        "so",
        "extremely",
        "totally",
        "incredibly",
        "absolutely",
    ]
)
INTENSITY = 1.5
# A negation flips the opinion words that follow it up to this many words, to the next clause.
NEGATION_SCOPE = 3
_CLAUSE = re.compile(r"[.,;:!?()\n]|\b(?:maar|want|omdat|but|because)\b", re.IGNORECASE)
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
POSITIVE_EMOJI = frozenset("😀😃😄😁😆😊🙂😍🥰😘👍👏🎉❤💪🙏✅😂🤣👌🥳💚💙💛🧡💜🌞☀🌷😎🤗🙌⭐🌟💯")
NEGATIVE_EMOJI = frozenset("😡😠🤬😢😭😞😔☹🙁😒😤👎💔😱😨😩😫🤮🤢😷⚠❌🙄😕😟😥😰🚨")
# The wider set (option `emoji`): common emoji whose polarity is not in doubt in any register.
POSITIVE_EMOJI_MORE = frozenset("😉😅😇🤩😋😌☺💖💗💕💓😻🍀🎊💐🌈✨🤞🌹🏆🥇🍾🥂😺")
NEGATIVE_EMOJI_MORE = frozenset("😣😖😬🤦😪😓😳🤯💩🖕😑😬😧😦😖🥺😿🤥🤧💀☠🆘")
_EMOTICON_POS = re.compile(r"(?<![\w/]):-?[)D\]pP]|;-?[)D]|(?<!\w)<3|(?<!\w)[xX]D\b|\^\^|\(:")
_EMOTICON_NEG = re.compile(r"(?<![\w/]):'?-?[(\[/\\]|(?<!\w)D:|-_-|</3|(?<![\w/]):-?\|")

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


@dataclass(frozen=True)
class LexiconOptions:
    """How the lexicon reads informal Dutch; which ones help is chosen by nested CV.

    - `elongation`: a word not in the lexicon with a letter repeated 3+ times is looked up with the
      run shortened to two letters, then one ("heeeel" -> "heel", "mooooi" -> "mooi").
    - `emoji`: a wider emoji set and text emoticons (":)", ":-(", "<3", "xD").
    - `negation_scope`: a negation flips the next `NEGATION_SCOPE` opinion-bearing words up to the
      clause's end ("niet echt goed"), not only the word right after it.
    - `intensifiers`: "heel", "erg", "super", ... grade the next opinion word (x 1.5) instead of
      counting as opinion words themselves.
    """

    elongation: bool = False
    emoji: bool = False
    negation_scope: bool = False
    intensifiers: bool = False

    def to_json(self) -> dict[str, bool]:
        return {
            "elongation": self.elongation,
            "emoji": self.emoji,
            "negation_scope": self.negation_scope,
            "intensifiers": self.intensifiers,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LexiconOptions:
        data = data or {}
        return cls(**{k: bool(data.get(k, False)) for k in cls().to_json()})


def shorten_elongations(word: str) -> list[str]:
    """Spellings to try for an elongated word: runs of 3+ letters as two, then as one."""
    if not _ELONGATED.search(word):
        return []
    return [_ELONGATED.sub(r"\1\1", word), _ELONGATED.sub(r"\1", word)]


class Lexicon:
    """word -> polarity in [-1, 1] (the derived, merged lexicon), read with `options`."""

    def __init__(self, scores: dict[str, float], options: LexiconOptions | None = None) -> None:
        self.scores = scores
        self.options = options or LexiconOptions()

    @classmethod
    def load(
        cls, path: Path = MODELS / "sentiment_lexicon.tsv", options: LexiconOptions | None = None
    ) -> Lexicon:
        scores: dict[str, float] = {}
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#") or not line.strip():
                    continue
                word, score = line.rstrip("\n").split("\t")[:2]
                scores[word] = float(score)
        return cls(scores, options)

    def spelling(self, word: str) -> str:
        """The known spelling of an elongated word ("nooooit" -> "nooit"), per the options."""
        if not self.options.elongation or word in self.scores:
            return word
        for variant in shorten_elongations(word):
            if variant in self.scores or variant in NEGATIONS or variant in INTENSIFIERS:
                return variant
        return word

    def score(self, word: str) -> float | None:
        """The polarity of one lower-cased word, or None (elongations per the options)."""
        return self.scores.get(self.spelling(word))

    def clause_words(self, text: str) -> list[tuple[str, bool]]:
        """(word, starts a clause) for the words of a lower-cased text."""
        out: list[tuple[str, bool]] = []
        for position, part in enumerate(_CLAUSE.split(text)):
            for k, word in enumerate(_WORD.findall(part)):
                out.append((word, k == 0 and position > 0))
        return out

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """The dense block (n, len(FEATURE_NAMES)), log-scaled counts."""
        out = np.zeros((len(texts), len(FEATURE_NAMES)), dtype=np.float32)
        options = self.options
        for i, text in enumerate(texts):
            lowered = text.lower()
            if options.negation_scope:
                tokens = self.clause_words(lowered)
            else:
                tokens = [(w, False) for w in _WORD.findall(lowered)]
            pos_strong = pos_weak = neg_strong = neg_weak = negations = 0
            total = 0.0
            flip_left = 0  # opinion words still to flip after a negation
            boost = 1.0
            for token, new_clause in tokens:
                word = self.spelling(token)
                if new_clause:
                    flip_left = 0
                if word in NEGATIONS:
                    negations += 1
                    flip_left = NEGATION_SCOPE if options.negation_scope else 1
                    continue
                if options.intensifiers and word in INTENSIFIERS:
                    boost = INTENSITY
                    continue
                score = self.scores.get(word)
                if score is not None:
                    score = max(-1.0, min(1.0, score * boost))
                    if flip_left > 0:
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
                if options.negation_scope:
                    flip_left -= score is not None  # the scope counts opinion words
                else:
                    flip_left = 0  # only the word right after the negation
                boost = 1.0
            emoji_pos = emoji_neg = 0
            if not text.isascii():
                more = options.emoji
                for ch in text:
                    if ch in POSITIVE_EMOJI or (more and ch in POSITIVE_EMOJI_MORE):
                        emoji_pos += 1
                    elif ch in NEGATIVE_EMOJI or (more and ch in NEGATIVE_EMOJI_MORE):
                        emoji_neg += 1
            if options.emoji:
                emoji_pos += len(_EMOTICON_POS.findall(text))
                emoji_neg += len(_EMOTICON_NEG.findall(text))
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
            row[4] = total / math.sqrt(len(tokens)) if tokens else 0.0
            row[10] = len(tokens)
        counts = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]
        out[:, counts] = np.log1p(out[:, counts])
        return out

    def coverage(self, texts: Sequence[str]) -> tuple[int, int]:
        """(word tokens with a polarity, word tokens) over `texts`, as the options read them."""
        hit = total = 0
        for text in texts:
            for word in _WORD.findall(text.lower()):
                total += 1
                hit += self.score(word) is not None
        return hit, total


def calibrate(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of probabilities (e.g. a mix of two models): softmax(log p / T)."""
    return softmax(np.log(np.clip(proba, 1e-9, 1.0)) / temperature)


@dataclass
class SentimentModel:
    """Text block + lexicon block, one softmax, one temperature; the e5 head for the accurate
    stage, mixed with the fast probabilities as the nested selection chose (`accurate_proba`)."""

    text: LinearModel
    lexicon_block: LinearModel
    lexicon: Lexicon
    embedding: EmbeddingHead | None = None
    binary: SentimentModel | None = None  # negative vs positive, for two-label callers
    # The fast model inside the accurate mix, where the nested CV chose other settings for it
    # than for the fast stage (its own lexicon options and C); else the fast stage's own.
    mix_fast: SentimentModel | None = None

    @classmethod
    def load(cls, models_dir: Path = MODELS, name: str = "sentiment_nl") -> SentimentModel:
        text = LinearModel.load(models_dir / f"{name}.npz")
        lexicon_block = LinearModel.load(models_dir / f"{name}_lexicon.npz")
        if lexicon_block.labels != text.labels:
            raise ValueError("the two blocks of the sentiment model disagree on labels")
        options = LexiconOptions.from_json(lexicon_block.meta.get("lexicon_options"))
        lexicon = Lexicon.load(models_dir / "sentiment_lexicon.tsv", options)
        binary = None
        if (models_dir / f"{name}_binary.npz").exists():
            binary = cls(
                LinearModel.load(models_dir / f"{name}_binary.npz"),
                LinearModel.load(models_dir / f"{name}_binary_lexicon.npz"),
                lexicon,
            )
        model = cls(text, lexicon_block, lexicon, None, binary)
        path = head_path(name, models_dir)
        if path.is_file():
            head = EmbeddingHead.load(path)
            mix_name = head.model.meta.get("mix_fast_model")
            if mix_name:
                mix_block = LinearModel.load(models_dir / f"{mix_name}_lexicon.npz")
                mix_options = LexiconOptions.from_json(mix_block.meta.get("lexicon_options"))
                model.mix_fast = cls(
                    LinearModel.load(models_dir / f"{mix_name}.npz"),
                    mix_block,
                    Lexicon(lexicon.scores, mix_options),
                )
            # The head's extra ("sentiment:lexicon_matrix") must read this directory's lexicon.
            mix = model.mix_fast or model
            head.extras = [mix.lexicon_matrix if e is lexicon_matrix else e for e in head.extras]
            model.embedding = head
        return model

    @property
    def labels(self) -> list[str]:
        return self.text.labels

    def lexicon_matrix(self, texts: Sequence[str]) -> np.ndarray:
        return self.lexicon.features(texts)

    def fast_logits(self, texts: Sequence[str], cache: FeatureCache | None = None) -> np.ndarray:
        cache = cache if cache is not None else FeatureCache.for_batch(texts)
        dense = sp.csr_matrix(self.lexicon.features(texts))
        logits: np.ndarray = self.text.logits(cache.get(self.text.spec))
        logits += self.lexicon_block.logits(dense)
        return logits

    def accurate_proba(
        self, texts: Sequence[str], vectors: np.ndarray, cache: FeatureCache | None = None
    ) -> np.ndarray:
        """Calibrated P(label) of the accurate stage from precomputed e5 vectors (n x 384):
        (1 - w) x fast + w x e5 head, temperature-scaled, w as the nested CV chose."""
        head = self.embedding
        if head is None:
            raise RuntimeError("the accurate sentiment stage needs sentiment_nl_e5.npz")
        meta = head.model.meta
        weight = float(meta.get("mix_weight", 1.0))
        proba = np.zeros((len(texts), len(self.labels)))
        if weight > 0:
            fine = head.proba(texts, vectors)
            label_map = meta.get("label_map", {})
            for j, label in enumerate(head.labels):
                proba[:, self.labels.index(label_map.get(label, label))] += weight * fine[:, j]
        if weight < 1:
            mix = self.mix_fast or self
            fast = softmax(mix.fast_logits(texts, cache) / float(meta["fast_temperature"]))
            proba += (1 - weight) * fast
        return calibrate(proba, float(meta.get("mix_temperature", 1.0)))

    def predict_proba(
        self, texts: Sequence[str], *, accurate: bool = False, cache: FeatureCache | None = None
    ) -> np.ndarray:
        if accurate:
            return self.accurate_proba(texts, embed(texts), cache)
        return softmax(self.fast_logits(texts, cache) / self.text.temperature)


def embed(texts: Sequence[str]) -> np.ndarray:
    """multilingual-e5-small embeddings of normalised texts, as the accurate stage and training
    compute them (`stadspuls.enrich.embeddings`)."""
    return default_encoder().encode(texts)


@functools.cache
def default_model() -> SentimentModel:
    return SentimentModel.load()


def lexicon_matrix(texts: Sequence[str]) -> np.ndarray:
    """The head extra "sentiment:lexicon_matrix": the shipped lexicon's dense block (n x 11)."""
    model = default_model()
    return (model.mix_fast or model).lexicon.features(texts)


def accurate_proba(texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """The accurate stage's entry point: n x 3 calibrated probabilities in `LABELS` order from
    precomputed e5 vectors (the stage embeds a post once for all its tasks)."""
    model = default_model()
    proba = model.accurate_proba(texts, vectors)
    order = [model.labels.index(label) for label in LABELS]
    return proba[:, order]


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
