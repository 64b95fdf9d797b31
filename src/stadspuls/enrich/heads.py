"""Heads of the accurate stage: linear models over a post's e5 embedding and a few named extras.

The accurate stage embeds a post once (`stadspuls.enrich.embeddings`) and every task reads the
same vector through its own head: `models/{name}_e5.npz`, a `LinearModel` whose input is the
384 embedding dimensions followed by the blocks of the functions named in `meta["extras"]`
(`"module:function"` inside `stadspuls.enrich`, each `texts -> n × d` array or sparse matrix,
e.g. the incident vocabulary's language-free concept features). A head is softmax over its
labels with its fitted temperature, or, with `meta["multilabel"]`, one sigmoid per label
(one-vs-rest: a post may be about a fire *and* an explosion) with per-label thresholds in
`meta["thresholds"]`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from stadspuls.enrich.embeddings import DIM, Encoder, default_encoder
from stadspuls.enrich.textclf import FeatureSpec, LinearModel, softmax

MODELS = Path(__file__).parent / "models"
# A head's spec is not an n-gram spec: it records the input width only.
EMBEDDING_SPEC = FeatureSpec(word_ngrams=None, char_ngrams=None, n_features=DIM)
Extra = Callable[[Sequence[str]], Any]


def resolve_extra(name: str) -> Extra:
    """`"incident:concept_matrix"` -> stadspuls.enrich.incident.concept_matrix (only there)."""
    module, _, attribute = name.partition(":")
    if not module or not attribute or "." in module:
        raise ValueError(f"an extra is 'module:function' inside stadspuls.enrich, not {name!r}")
    function = getattr(importlib.import_module(f"stadspuls.enrich.{module}"), attribute, None)
    if not callable(function):
        raise ValueError(f"stadspuls.enrich.{module} has no function {attribute}")
    return function  # type: ignore[no-any-return]


def head_features(
    texts: Sequence[str],
    vectors: np.ndarray | None,
    extras: Sequence[Extra],
) -> sp.csr_matrix:
    """The head's input: embedding (unless None), then each extra's block (what training must
    build too)."""
    blocks: list[Any] = []
    if vectors is not None:
        blocks.append(sp.csr_matrix(np.asarray(vectors, dtype=np.float32)))
    for extra in extras:
        block = extra(texts)
        blocks.append(block if sp.issparse(block) else sp.csr_matrix(np.asarray(block)))
    return sp.hstack(blocks, format="csr")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))  # type: ignore[no-any-return]


@dataclass
class EmbeddingHead:
    name: str
    model: LinearModel
    extras: list[Extra]

    @classmethod
    def load(cls, path: Path) -> EmbeddingHead:
        model = LinearModel.load(path)
        extras = [resolve_extra(str(e)) for e in model.meta.get("extras", [])]
        return cls(path.stem, model, extras)

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    @property
    def multilabel(self) -> bool:
        return bool(self.model.meta.get("multilabel", False))

    @property
    def embedded(self) -> bool:
        """Whether the head reads the e5 embedding (a head of extras alone, `meta["embedding"]`
        false, is one where the nested selection preferred cheaper features)."""
        return bool(self.model.meta.get("embedding", True))

    def features(self, texts: Sequence[str], vectors: np.ndarray | None) -> sp.csr_matrix:
        return head_features(texts, vectors if self.embedded else None, self.extras)

    def proba(self, texts: Sequence[str], vectors: np.ndarray | None) -> np.ndarray:
        """n × labels: softmax probabilities, or independent sigmoids for a multi-label head."""
        logits = self.model.logits(self.features(texts, vectors)) / self.model.temperature
        return sigmoid(logits) if self.multilabel else softmax(logits)

    def thresholds(self) -> np.ndarray:
        """Per-label decision thresholds of a multi-label head (0.5 where none was fitted)."""
        fitted = self.model.meta.get("thresholds", {})
        return np.array([float(fitted.get(label, 0.5)) for label in self.labels])


class HeadPredictor:
    """The evaluation view of a head (`stadspuls eval TASK --stage accurate`): texts ->
    (labels, scores), embedding the texts now (not from the training cache)."""

    def __init__(self, name: str, encoder: Encoder | None = None) -> None:
        head = load_head(name)
        if head is None:
            raise FileNotFoundError(f"no head {name}_e5.npz: train it with scripts/train_{name}.py")
        self.head = head
        self.encoder = encoder or default_encoder()

    @property
    def labels(self) -> list[str]:
        return self.head.labels

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.encoder.encode(texts) if self.head.embedded else None
        return self.head.proba(texts, vectors)

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        if not texts:
            return [], []
        proba = self.proba(texts)
        best = proba.argmax(axis=1)
        return [self.labels[i] for i in best], [float(p) for p in proba[np.arange(len(best)), best]]


def head_path(name: str, models_dir: Path = MODELS) -> Path:
    return models_dir / f"{name}_e5.npz"


def load_head(name: str, models_dir: Path = MODELS) -> EmbeddingHead | None:
    """The head `models/{name}_e5.npz`, or None when it has not been trained."""
    path = head_path(name, models_dir)
    return EmbeddingHead.load(path) if path.is_file() else None


def dense_head(
    estimator: Any,
    *,
    extras: Sequence[str] = (),
    multilabel: bool = False,
    labels: Sequence[str] | None = None,
    meta: dict[str, Any] | None = None,
) -> LinearModel:
    """A fitted sklearn linear model (LogisticRegression, or one-vs-rest for multi-label:
    pass `labels` and an estimator with `coef_` of one row per label) as a head artefact."""
    coef = np.asarray(estimator.coef_, dtype=np.float32)
    intercept = np.asarray(estimator.intercept_, dtype=np.float32).reshape(-1)
    names = [str(c) for c in (labels if labels is not None else estimator.classes_)]
    if not multilabel and coef.shape[0] == 1 and len(names) == 2:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])  # softmax([-z/2, z/2]) = sigmoid(z)
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
    spec = FeatureSpec(word_ngrams=None, char_ngrams=None, n_features=coef.shape[1])
    info = {"extras": list(extras), "multilabel": multilabel, **(meta or {})}
    return LinearModel(names, spec, sp.csr_matrix(coef), intercept, meta=info)


__all__ = [
    "EMBEDDING_SPEC",
    "EmbeddingHead",
    "HeadPredictor",
    "dense_head",
    "head_features",
    "head_path",
    "load_head",
    "resolve_extra",
    "sigmoid",
]
