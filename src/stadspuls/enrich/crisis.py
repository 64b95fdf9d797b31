"""Crisis enrichment: incident type, humanitarian category, informativeness and rumour score.

Four calibrated linear models share one featurisation of each batch (`FeatureCache`); the
incident model also reads the language-free concept features of the incident vocabulary
(`stadspuls.enrich.incident`), which is how it works on Dutch text it was never trained on.
Each model is an `.npz` artefact next to its model card in `enrich/models/` (trained by
`scripts/train_crisis.py`). Scores are temperature-calibrated probabilities, so detectors may
average them across posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import scipy.sparse as sp

from stadspuls.enrich.incident import (
    CONCEPTS,
    NONE,
    OTHER,
    OTHER_DETAILS,
    Vocabulary,
    default_vocabulary,
)
from stadspuls.enrich.textclf import FeatureCache, LinearModel
from stadspuls.records import Post

MODELS_DIR = Path(__file__).parent / "models"
MODEL_FILES = {
    "incident": "incident.npz",
    "humanitarian": "humanitarian.npz",
    "informativeness": "informativeness.npz",
    "rumour": "rumour.npz",
}
RUMOUR = "rumour"
# The concept block is appended after the n-gram features; its weight sets how loud a
# vocabulary match is next to an l2-normalised block of n-grams (1.0: as loud as a whole block).
CONCEPT_WEIGHT = 1.0


def concept_features(texts: Sequence[str], vocabulary: Vocabulary | None = None) -> sp.csr_matrix:
    return (vocabulary or default_vocabulary()).matrix(texts) * CONCEPT_WEIGHT


def incident_features(
    cache: FeatureCache, model: LinearModel, vocabulary: Vocabulary | None = None
) -> sp.csr_matrix:
    """The n-gram features of the model's spec followed by the vocabulary's concept features."""
    ngrams = cache.get(model.spec)
    concepts = concept_features(cache.texts, vocabulary)
    return sp.hstack([ngrams, concepts], format="csr")


def load_model(name: str, models_dir: Path | None = None) -> LinearModel:
    path = (models_dir or MODELS_DIR) / MODEL_FILES[name]
    if not path.is_file():
        raise FileNotFoundError(f"model {path} not found: train it with scripts/train_crisis.py")
    return LinearModel.load(path)


@dataclass(frozen=True)
class CrisisPredictions:
    incident_type: list[str]
    incident_score: np.ndarray
    incident_proba: np.ndarray  # (n, len(incident labels)), calibrated
    humanitarian: list[str]
    humanitarian_score: np.ndarray
    informativeness: list[str]
    informativeness_score: np.ndarray
    rumour_score: np.ndarray  # calibrated P(rumour)


class CrisisModels:
    """The four crisis models, applied to a batch of texts with one shared featurisation."""

    def __init__(self, models_dir: Path | None = None) -> None:
        self.incident = load_model("incident", models_dir)
        self.humanitarian = load_model("humanitarian", models_dir)
        self.informativeness = load_model("informativeness", models_dir)
        self.rumour = load_model("rumour", models_dir)
        self.vocabulary = default_vocabulary()
        self._rumour_index = self.rumour.labels.index(RUMOUR)

    def predict(self, texts: Sequence[str]) -> CrisisPredictions:
        # The batch's features may already be there: the sentiment model shares the spec.
        cache = FeatureCache.for_batch(texts)
        incident_proba = self.incident.predict_proba(
            incident_features(cache, self.incident, self.vocabulary)
        )
        best = incident_proba.argmax(axis=1)
        humanitarian, humanitarian_score = self.humanitarian.predict(
            cache.get(self.humanitarian.spec)
        )
        informativeness, informativeness_score = self.informativeness.predict(
            cache.get(self.informativeness.spec)
        )
        rumour = self.rumour.predict_proba(cache.get(self.rumour.spec))[:, self._rumour_index]
        return CrisisPredictions(
            incident_type=[self.incident.labels[i] for i in best],
            incident_score=incident_proba[np.arange(len(best)), best],
            incident_proba=incident_proba,
            humanitarian=humanitarian,
            humanitarian_score=humanitarian_score,
            informativeness=informativeness,
            informativeness_score=informativeness_score,
            rumour_score=rumour,
        )


class CrisisEnricher:
    """Fills `incident_type`/`incident_score`, `humanitarian`, `informativeness`, `rumour_score`.

    `incident_type` is one of `incident.LABELS` ("none" when the post is about no incident) and
    `incident_score` its calibrated probability; `rumour_score` is the calibrated P(rumour).
    """

    name = "crisis"

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models = CrisisModels(models_dir)

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        if not posts:
            return []
        out = self.models.predict([post.text for post in posts])
        return [
            msgspec.structs.replace(
                post,
                incident_type=out.incident_type[i],
                incident_score=round(float(out.incident_score[i]), 4),
                humanitarian=out.humanitarian[i],
                informativeness=out.informativeness[i],
                rumour_score=round(float(out.rumour_score[i]), 4),
            )
            for i, post in enumerate(posts)
        ]


# --- predictors for `stadspuls eval` (stadspuls.enrich.tasks) --------------------------------


class IncidentTypePredictor:
    """The incident type of posts known to be about an incident (the eval's related rows).

    It answers the best label other than "none", and for "other" the vocabulary's detail where
    the text names one ("meteor", "haze", …), so a data set that keeps those apart is scored
    on them.
    """

    def __init__(self, models_dir: Path | None = None, *, allow_none: bool = False) -> None:
        self.model = load_model("incident", models_dir)
        self.vocabulary = default_vocabulary()
        self.allow_none = allow_none
        self._detail_columns = [CONCEPTS.index(d) for d in OTHER_DETAILS]

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        cache = FeatureCache(texts)
        concepts = concept_features(texts, self.vocabulary)
        features = sp.hstack([cache.get(self.model.spec), concepts], format="csr")
        proba = self.model.predict_proba(features)
        if not self.allow_none and NONE in self.model.labels:
            masked = proba.copy()
            masked[:, self.model.labels.index(NONE)] = -1.0
            best = masked.argmax(axis=1)
        else:
            best = proba.argmax(axis=1)
        details = concepts[:, self._detail_columns].toarray()
        labels: list[str] = []
        for row, index in enumerate(best):
            label = self.model.labels[index]
            if label == OTHER and details[row].any():
                label = OTHER_DETAILS[int(details[row].argmax())]
            labels.append(label)
        return labels, [float(p) for p in proba[np.arange(len(best)), best]]


class LabelPredictor:
    def __init__(self, name: str, models_dir: Path | None = None) -> None:
        self.model = load_model(name, models_dir)

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        labels, scores = self.model.predict(FeatureCache(texts).get(self.model.spec))
        return labels, [float(s) for s in scores]


def load_incident_predictor() -> IncidentTypePredictor:
    return IncidentTypePredictor()


def load_humanitarian_predictor() -> LabelPredictor:
    return LabelPredictor("humanitarian")


def load_informativeness_predictor() -> LabelPredictor:
    return LabelPredictor("informativeness")


def load_rumour_predictor() -> LabelPredictor:
    return LabelPredictor("rumour")


# --- the accurate stage's predictors (e5 heads, `stadspuls.enrich.accurate`) ------------------

from stadspuls.enrich.accurate import HeadPredictor  # noqa: E402 (kept next to its two users)


def load_accurate_rumour_predictor() -> HeadPredictor:
    """Rumour from the e5 head `models/rumour_e5.npz` (with the cue features of rumour_cues)."""
    return HeadPredictor("rumour")


def load_accurate_informativeness_predictor() -> HeadPredictor:
    """Informativeness from the e5 head `models/informativeness_e5.npz`."""
    return HeadPredictor("informativeness")
