"""Fast linear text classifiers over hashed n-gram features, shared by the door's models.

Every model names the feature spec it was trained with; posts in a batch are featurised once per
spec (`FeatureCache`), so five classifiers on the same spec cost one featurisation plus five
sparse products. Models are stored as `.npz` files (numpy arrays and JSON, no pickle) with pruned
sparse weights, so a committed artefact stays small and loading never executes code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

# Links and handles as every text model of the door sees them (also embeddings, incident,
# rumour_cues: one definition, so they cannot drift apart).
URL = re.compile(r"https?://\S+|www\.\S+")
MENTION = re.compile(r"@\w+")
_DIGITS = re.compile(r"\d")


def preprocess(text: str) -> str:
    """Map what varies without meaning (links, handles, digits) to fixed tokens, lowercase.

    Stored posts carry pseudonymised mentions (`@u…`) and training data raw ones (`@name`):
    both become `@user`, so the model sees the same thing in training and in production.
    """
    text = URL.sub(" httpurl ", text)
    text = MENTION.sub(" @user ", text)
    text = _DIGITS.sub("0", text)
    return text.lower()


@dataclass(frozen=True)
class FeatureSpec:
    word_ngrams: tuple[int, int] | None = (1, 2)
    char_ngrams: tuple[int, int] | None = (3, 4)  # char_wb n-grams: robust across languages
    n_features: int = 2**18

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        word = data.get("word_ngrams")
        char = data.get("char_ngrams")
        return cls(
            word_ngrams=tuple(word) if word else None,
            char_ngrams=tuple(char) if char else None,
            n_features=int(data["n_features"]),
        )


class Featurizer:
    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._parts: list[HashingVectorizer] = []
        if spec.word_ngrams:
            self._parts.append(
                HashingVectorizer(
                    n_features=spec.n_features,
                    ngram_range=spec.word_ngrams,
                    alternate_sign=False,
                    lowercase=False,
                    token_pattern=r"(?u)[#@]?\b\w+\b",  # noqa: S106 (not a password)
                    norm="l2",
                )
            )
        if spec.char_ngrams:
            self._parts.append(
                HashingVectorizer(
                    n_features=spec.n_features,
                    analyzer="char_wb",
                    ngram_range=spec.char_ngrams,
                    alternate_sign=False,
                    lowercase=False,
                    norm="l2",
                )
            )
        if not self._parts:
            raise ValueError("a feature spec needs word or character n-grams")

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        cleaned = [preprocess(t) for t in texts]
        blocks = [part.transform(cleaned) for part in self._parts]
        matrix = blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr")
        return sp.csr_matrix(matrix, dtype=np.float32)

    @property
    def width(self) -> int:
        return self.spec.n_features * len(self._parts)


_LAST_BATCH: dict[str, FeatureCache] = {}


class FeatureCache:
    """Features of one batch of texts, computed once per spec and shared by the models."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self._by_spec: dict[str, sp.csr_matrix] = {}
        self._featurizers: dict[str, Featurizer] = {}
        self._key: tuple[str, ...] | None = None

    @classmethod
    def for_batch(cls, texts: Sequence[str]) -> FeatureCache:
        """The cache of the batch just seen if it has exactly these texts, else a fresh one.

        Enrichers receive posts, not caches: the door's sentiment and crisis models each call
        this with the batch's texts, and the second one finds the first one's features (the
        n-gram featurisation is most of a linear model's cost). One slot: only the latest batch
        is kept, so memory stays bounded.
        """
        key = tuple(texts)
        last = _LAST_BATCH.get("cache")
        if last is not None and last._key == key:
            return last
        cache = cls(texts)
        cache._key = key
        _LAST_BATCH["cache"] = cache
        return cache

    def get(self, spec: FeatureSpec) -> sp.csr_matrix:
        key = spec.key()
        if key not in self._by_spec:
            featurizer = self._featurizers.get(key) or Featurizer(spec)
            self._featurizers[key] = featurizer
            self._by_spec[key] = featurizer.transform(self.texts)
        return self._by_spec[key]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


@dataclass
class LinearModel:
    """Softmax over a sparse linear model, with a temperature fitted on held-out data."""

    labels: list[str]
    spec: FeatureSpec
    coef: sp.csr_matrix  # (n_classes, width)
    intercept: np.ndarray  # (n_classes,)
    temperature: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)

    def logits(self, features: sp.csr_matrix) -> np.ndarray:
        scores = features @ self.coef.T
        dense = scores.toarray() if sp.issparse(scores) else np.asarray(scores)
        return dense + self.intercept  # type: ignore[no-any-return]

    def predict_proba(self, features: sp.csr_matrix) -> np.ndarray:
        return softmax(self.logits(features) / self.temperature)

    def predict(self, features: sp.csr_matrix) -> tuple[list[str], np.ndarray]:
        proba = self.predict_proba(features)
        best = proba.argmax(axis=1)
        return [self.labels[i] for i in best], proba[np.arange(len(best)), best]

    def save(self, path: Path) -> None:
        coef = self.coef.tocsr()
        header = {
            "labels": self.labels,
            "spec": asdict(self.spec),
            "temperature": self.temperature,
            "meta": self.meta,
        }
        np.savez_compressed(
            path,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            data=coef.data.astype(np.float16),
            indices=coef.indices.astype(np.int32),
            indptr=coef.indptr.astype(np.int64),
            shape=np.array(coef.shape, dtype=np.int64),
            intercept=self.intercept.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(bytes(archive["header"]).decode())
            shape = tuple(int(v) for v in archive["shape"])
            coef = sp.csr_matrix(
                (archive["data"].astype(np.float32), archive["indices"], archive["indptr"]),
                shape=shape,
            )
            intercept = archive["intercept"].astype(np.float32)
        return cls(
            labels=list(header["labels"]),
            spec=FeatureSpec.from_json(header["spec"]),
            coef=coef,
            intercept=intercept,
            temperature=float(header["temperature"]),
            meta=dict(header.get("meta", {})),
        )


def from_sklearn(estimator: Any, spec: FeatureSpec, keep: float = 1.0) -> LinearModel:
    """Turn a fitted sklearn linear classifier into a LinearModel, keeping the largest weights.

    `keep` is the fraction of non-zero weights kept (by magnitude): pruning the long tail of
    near-zero hashed weights shrinks the artefact many times at a small cost in accuracy.
    """
    coef = np.asarray(estimator.coef_, dtype=np.float32)
    intercept = np.asarray(estimator.intercept_, dtype=np.float32)
    labels = [str(c) for c in estimator.classes_]
    if coef.shape[0] == 1 and len(labels) == 2:
        # A binary model scores z for the second class: softmax([-z/2, z/2]) = sigmoid(z).
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
    if keep < 1.0:
        magnitudes = np.abs(coef[coef != 0])
        if magnitudes.size:
            threshold = np.quantile(magnitudes, 1.0 - keep)
            coef = np.where(np.abs(coef) >= threshold, coef, 0.0).astype(np.float32)
    return LinearModel(labels, spec, sp.csr_matrix(coef), intercept)


def fit_temperature(model: LinearModel, features: sp.csr_matrix, labels: Sequence[str]) -> float:
    """Fit the softmax temperature that minimises log-loss on held-out data (Guo et al. 2017)."""
    from scipy.optimize import minimize_scalar

    index = {label: i for i, label in enumerate(model.labels)}
    keep = [i for i, label in enumerate(labels) if label in index]
    if not keep:
        raise ValueError("no held-out label is known to the model")
    logits = model.logits(features[keep])
    target = np.array([index[labels[i]] for i in keep])

    def nll(temperature: float) -> float:
        proba = softmax(logits / temperature)
        return float(-np.log(proba[np.arange(len(target)), target] + 1e-12).mean())

    result = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded")
    model.temperature = float(result.x)
    return model.temperature


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 10
) -> float:
    """ECE: the gap between stated confidence and accuracy, averaged over confidence bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in pairwise(edges):
        mask = (confidence > low) & (confidence <= high)
        if mask.any():
            total += mask.mean() * abs(float(correct[mask].mean()) - float(confidence[mask].mean()))
    return total
