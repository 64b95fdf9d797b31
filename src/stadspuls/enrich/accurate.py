"""Predictors of the accurate stage for `stadspuls eval`: an e5 head, optionally blended.

`HeadPredictor(name)` embeds the texts (`embeddings.default_encoder()`), reads them through the
head `models/{name}_e5.npz` (`heads.load_head`) and answers (labels, scores) like the fast
stage's predictors. Where the head's training chose the average of the fast model's and the
head's probabilities (`meta["blend_fast"]`, selected by nested cross-validation like every other
setting), it averages them with the fast model `models/{name}.npz` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stadspuls.enrich.embeddings import Encoder, default_encoder
from stadspuls.enrich.heads import EmbeddingHead, load_head
from stadspuls.enrich.textclf import FeatureCache, LinearModel


class HeadPredictor:
    def __init__(self, name: str, encoder: Encoder | None = None) -> None:
        head = load_head(name)
        if head is None:
            raise FileNotFoundError(f"no head {name}_e5.npz: train it with scripts/train_{name}.py")
        self.head: EmbeddingHead = head
        self.encoder = encoder or default_encoder()
        self.fast: LinearModel | None = None
        if head.model.meta.get("blend_fast"):
            from stadspuls.enrich.crisis import load_model

            self.fast = load_model(name)
            if self.fast.labels != head.labels:
                raise ValueError(f"{name}: fast and head labels differ")

    @property
    def labels(self) -> list[str]:
        return self.head.labels

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        proba = self.head.proba(texts, self.encoder.encode(texts))
        if self.fast is not None:
            fast = self.fast.predict_proba(FeatureCache(texts).get(self.fast.spec))
            proba = (proba + fast) / 2
        return proba

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        if not texts:
            return [], []
        proba = self.proba(texts)
        best = proba.argmax(axis=1)
        return [self.labels[i] for i in best], [float(p) for p in proba[np.arange(len(best)), best]]


__all__ = ["HeadPredictor"]
