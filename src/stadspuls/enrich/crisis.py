"""Crisis enrichment: incident type, humanitarian category, informativeness and rumour score.

Four calibrated linear models share one featurisation of each batch (`FeatureCache`); the
incident model also reads the language-free concept features of the incident vocabulary
(`stadspuls.enrich.incident`), which is how it works on Dutch text it was never trained on.
Each model is an `.npz` artefact next to its model card in `enrich/models/` (trained by
`scripts/train_crisis.py`). Scores are temperature-calibrated probabilities, so detectors may
average them across posts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import scipy.sparse as sp

from stadspuls.enrich.heads import HeadPredictor
from stadspuls.enrich.incident import (
    CONCEPTS,
    NONE,
    OTHER,
    OTHER_DETAILS,
    Vocabulary,
    default_vocabulary,
    label_of_concept,
    mask_event_tokens,
    story_types,
)
from stadspuls.enrich.textclf import FeatureCache, FeatureSpec, Featurizer, LinearModel
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


def concept_matrix(texts: Sequence[str]) -> sp.csr_matrix:
    """`texts -> n x len(CONCEPTS)`: the concept block as an extra of an embedding head."""
    return concept_features(texts)


_MASKED_FEATURIZERS: dict[str, Featurizer] = {}


def masked_ngrams(texts: Sequence[str], spec: FeatureSpec) -> sp.csr_matrix:
    """n-grams of the texts with event-specific tokens masked (`incident.mask_event_tokens`)."""
    featurizer = _MASKED_FEATURIZERS.get(spec.key())
    if featurizer is None:
        featurizer = _MASKED_FEATURIZERS.setdefault(spec.key(), Featurizer(spec))
    return featurizer.transform([mask_event_tokens(t) for t in texts])


def incident_ngrams(cache: FeatureCache, model: LinearModel) -> sp.csr_matrix:
    """The model's n-gram block: shared with the door's other models unless it reads masked text
    (`meta["mask"]`, chosen by nested selection), which costs one more featurisation."""
    if model.meta.get("mask"):
        return masked_ngrams(cache.texts, model.spec)
    return cache.get(model.spec)


def incident_features(
    cache: FeatureCache, model: LinearModel, vocabulary: Vocabulary | None = None
) -> sp.csr_matrix:
    """The n-gram features of the model's spec followed by the vocabulary's concept features."""
    ngrams = incident_ngrams(cache, model)
    concepts = concept_features(cache.texts, vocabulary)
    return sp.hstack([ngrams, concepts], format="csr")


# --- several incident types per post -------------------------------------------------------------

# How much a hazard the post itself names adds to its type's probability when deciding the
# secondary labels: a post about a derailment that says "explosion" and "fire" is about those
# too, even when the model (trained on one type per event) puts most mass on the cause.
NAMED_BONUS = 0.5
NEVER = 9.0  # a threshold no score reaches (labels never seen as secondary in training)


def named_labels(concepts: sp.csr_matrix, labels: Sequence[str]) -> np.ndarray:
    """n x len(labels): 1 where the text names a concept of that label ("haze" -> other)."""
    dense = concepts.toarray() > 0
    out = np.zeros((dense.shape[0], len(labels)), dtype=np.float64)
    for j, concept in enumerate(CONCEPTS):
        label = label_of_concept(concept)
        if label in labels:
            out[:, labels.index(label)] = np.maximum(out[:, labels.index(label)], dense[:, j])
    return out


def multilabel_scores(proba: np.ndarray, named: np.ndarray) -> np.ndarray:
    return proba + NAMED_BONUS * named


def label_sets(
    proba: np.ndarray,
    named: np.ndarray,
    labels: Sequence[str],
    thresholds: Mapping[str, float],
) -> list[tuple[str, ...]]:
    """Every incident type of each post, most likely first; ("none",) when about no incident.

    The first label is the model's best (the cause, as it was trained: one type per event); a
    further label joins when its score (probability, plus `NAMED_BONUS` when the post names it)
    reaches its threshold, fitted on out-of-fold predictions (`fit_thresholds`).
    """
    scores = multilabel_scores(proba, named)
    limits = np.array([thresholds.get(label, NEVER) for label in labels])
    none = labels.index(NONE) if NONE in labels else -1
    out: list[tuple[str, ...]] = []
    for i, top in enumerate(proba.argmax(axis=1)):
        if top == none:
            out.append((NONE,))
            continue
        extra = [
            j
            for j in np.argsort(-scores[i], kind="stable")
            if j not in (top, none) and scores[i, j] >= limits[j]
        ]
        out.append((labels[top], *(labels[j] for j in extra)))
    return out


def fit_thresholds(
    proba: np.ndarray,
    named: np.ndarray,
    labels: Sequence[str],
    targets: Sequence[set[str]],
) -> dict[str, float]:
    """Per label, the secondary-label threshold with the best F1 on (out-of-fold) predictions."""
    scores = multilabel_scores(proba, named)
    top = proba.argmax(axis=1)
    grid = np.round(np.arange(0.05, 1.5, 0.05), 2)
    out: dict[str, float] = {}
    none = labels.index(NONE) if NONE in labels else -1
    for j, label in enumerate(labels):
        if label == NONE:
            continue
        rows = np.flatnonzero((top != j) & (top != none))  # where it could be a second label
        gold = np.array([label in targets[int(r)] for r in rows])
        if not gold.any():
            out[label] = NEVER
            continue
        best, best_f1 = NEVER, 0.0
        for t in grid:
            pred = scores[rows, j] >= t
            tp = float((pred & gold).sum())
            f1 = 2 * tp / (pred.sum() + gold.sum()) if tp else 0.0
            if f1 > best_f1:
                best, best_f1 = float(t), f1
        out[label] = best
    return out


def multilabel_report(
    gold: Sequence[set[str]], pred: Sequence[Sequence[str]]
) -> dict[str, float | dict[str, float]]:
    """Micro- and macro-F1 of label sets ("none" is a label: a post about no incident)."""
    names = sorted(set().union(*gold, *(set(p) for p in pred)))
    per: dict[str, float] = {}
    tp_all = fp_all = fn_all = 0
    for name in names:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if name in g and name in p)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if name not in g and name in p)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if name in g and name not in p)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        if any(name in g for g in gold):
            per[name] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    micro = 2 * tp_all / (2 * tp_all + fp_all + fn_all) if tp_all else 0.0
    return {
        "micro_f1": micro,
        "macro_f1": float(np.mean(list(per.values()))) if per else 0.0,
        "per_label_f1": per,
    }


def aggregate_types(sets: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """A group of posts' (a story's) incident types from the posts' label sets."""
    primary: Counter[str] = Counter(s[0] for s in sets if s)
    votes: Counter[str] = Counter(label for s in sets for label in s)
    return story_types(primary, votes)


def incident_extra_report(
    groups: Sequence[str],
    gold: Sequence[str],
    gold_sets: Sequence[set[str]],
    pred_sets: Sequence[Sequence[str]],
    hours: Sequence[str] | None = None,
    min_posts: int = 5,
) -> dict[str, object]:
    """The multi-label figures and the story-level ones for `stadspuls eval incident-type`.

    `groups` is each row's event, `gold` its single type, `gold_sets` its multi-label target,
    `pred_sets` the predicted label sets (`label_sets`). Story level: each event's posts, and
    each (event, hour) with at least `min_posts` posts, aggregated by `aggregate_types`; the
    aggregated first type is scored against the event's type.
    """
    report: dict[str, object] = {"multilabel": multilabel_report(gold_sets, pred_sets)}
    for name, keys in (("event", list(groups)), ("event_hour", None)):
        if keys is None:
            if hours is None:
                continue
            keys = [f"{g} {h}" for g, h in zip(groups, hours, strict=True)]
        by: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            by.setdefault(key, []).append(i)
        hits: list[float] = []
        types: dict[str, str] = {}
        for key, rows in sorted(by.items()):
            if len(rows) < min_posts:
                continue
            found = aggregate_types([pred_sets[i] for i in rows])
            hits.append(float(bool(found) and found[0] == gold[rows[0]]))
            if name == "event":
                types[key] = " + ".join(found) or NONE
        report[f"story_{name}_accuracy"] = float(np.mean(hits)) if hits else 0.0
        report[f"story_{name}_n"] = len(hits)
        if types:
            report["story_event_types"] = types
    return report


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
    incident_labels: list[tuple[str, ...]]  # every type above its threshold, best first
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
        concepts = concept_features(texts, self.vocabulary)
        incident_proba = self.incident.predict_proba(
            sp.hstack([incident_ngrams(cache, self.incident), concepts], format="csr")
        )
        best = incident_proba.argmax(axis=1)
        sets = label_sets(
            incident_proba,
            named_labels(concepts, self.incident.labels),
            self.incident.labels,
            self.incident.meta.get("thresholds", {}),
        )
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
            incident_labels=sets,
            humanitarian=humanitarian,
            humanitarian_score=humanitarian_score,
            informativeness=informativeness,
            informativeness_score=informativeness_score,
            rumour_score=rumour,
        )


class CrisisEnricher:
    """Fills `incident_type`/`incident_score`/`incident_labels`, `humanitarian`,
    `informativeness`, `rumour_score`.

    `incident_type` is one of `incident.LABELS` ("none" when the post is about no incident) and
    `incident_score` its calibrated probability; `incident_labels` every type of the post, the
    best (`incident_type`) first, ("none",) when about no incident; `rumour_score` is the
    calibrated P(rumour).
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
                incident_labels=out.incident_labels[i],
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
        features = sp.hstack([incident_ngrams(cache, self.model), concepts], format="csr")
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

    def label_sets(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """Every incident type of each post, as the enricher stores them (`incident_labels`)."""
        cache = FeatureCache(texts)
        concepts = concept_features(texts, self.vocabulary)
        features = sp.hstack([incident_ngrams(cache, self.model), concepts], format="csr")
        return label_sets(
            self.model.predict_proba(features),
            named_labels(concepts, self.model.labels),
            self.model.labels,
            self.model.meta.get("thresholds", {}),
        )


def incident_eval_report(
    predictor: object,
    rows: Sequence[Mapping[str, str]],
    texts: Sequence[str],
    gold: Sequence[str],
    mapper: Callable[[str], str | None],
    batch: int = 4096,
) -> dict[str, object]:
    """`stadspuls eval incident-type`'s further figures, where the predictor gives label sets:

    - `set_recall`: the share of posts whose type (the data's label) is among their predicted
      types (a refinery fire counted as "explosion + fire" is right), and the mean set size;
    - `story_event_accuracy`: per event of the file (`event` column), whether the types
      aggregated over its posts (`aggregate_types`, as a story's) put the event's type first;
      `story_event_hour_accuracy` the same per event and hour with >= 5 posts (a story is much
      narrower than a multi-day event).
    """
    sets_of = getattr(predictor, "label_sets", None)
    if not callable(sets_of):
        return {}
    sets: list[tuple[str, ...]] = []
    for i in range(0, len(texts), batch):
        sets.extend(sets_of(texts[i : i + batch]))
    mapped_sets = [{mapper(label) for label in s} - {None} for s in sets]
    report: dict[str, object] = {
        "set_recall": round(
            float(np.mean([g in m for g, m in zip(gold, mapped_sets, strict=True)])), 4
        ),
        "mean_types_per_post": round(float(np.mean([len(s) for s in sets])), 3),
    }
    events = [r.get("event", "") for r in rows]
    hours = [(r.get("created_at") or "")[:13] for r in rows]
    for name, keys, least in (
        ("event", events, 1),
        ("event_hour", [f"{e} {h}" for e, h in zip(events, hours, strict=True)], 5),
    ):
        if not any(events):
            break
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        hits: list[bool] = []
        for members in groups.values():
            if len(members) >= least:
                found = aggregate_types([sets[i] for i in members])
                hits.append(bool(found) and mapper(found[0]) == gold[members[0]])
        report[f"story_{name}_accuracy"] = round(float(np.mean(hits)), 4) if hits else None
        report[f"story_{name}_n"] = len(hits)
    return report


class LabelPredictor:
    def __init__(self, name: str, models_dir: Path | None = None) -> None:
        self.model = load_model(name, models_dir)

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        labels, scores = self.model.predict(FeatureCache(texts).get(self.model.spec))
        return labels, [float(s) for s in scores]


def load_incident_predictor() -> IncidentTypePredictor:
    return IncidentTypePredictor()


class AccurateIncidentTypePredictor:
    """As `IncidentTypePredictor`, with the accurate stage's head (`models/incident_e5.npz`):
    the e5 embedding of each text (encoded now, not from the training cache) plus the concept
    features. Best label other than "none"; "other" refined by the vocabulary's detail."""

    def __init__(self, models_dir: Path | None = None) -> None:
        from stadspuls.enrich.embeddings import default_encoder
        from stadspuls.enrich.heads import load_head

        head = load_head("incident", models_dir or MODELS_DIR)
        if head is None:
            raise FileNotFoundError(
                "incident_e5.npz not found: train it with scripts/train_crisis.py --task "
                "incident_e5"
            )
        self.head = head
        self.encoder = default_encoder()
        self.vocabulary = default_vocabulary()
        self._detail_columns = [CONCEPTS.index(d) for d in OTHER_DETAILS]

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        if not texts:
            return [], []
        proba = self.head.proba(texts, self.encoder.encode(texts))
        masked = proba.copy()
        if NONE in self.head.labels:
            masked[:, self.head.labels.index(NONE)] = -1.0
        best = masked.argmax(axis=1)
        details = concept_features(texts, self.vocabulary)[:, self._detail_columns].toarray()
        labels: list[str] = []
        for row, index in enumerate(best):
            label = self.head.labels[index]
            if label == OTHER and details[row].any():
                label = OTHER_DETAILS[int(details[row].argmax())]
            labels.append(label)
        return labels, [float(p) for p in proba[np.arange(len(best)), best]]


def load_accurate_incident_predictor() -> AccurateIncidentTypePredictor:
    return AccurateIncidentTypePredictor()


def load_humanitarian_predictor() -> LabelPredictor:
    return LabelPredictor("humanitarian")


def load_informativeness_predictor() -> LabelPredictor:
    return LabelPredictor("informativeness")


def load_rumour_predictor() -> LabelPredictor:
    return LabelPredictor("rumour")


def load_accurate_rumour_predictor() -> HeadPredictor:
    """Rumour from the e5 head `models/rumour_e5.npz` (with the cue features of rumour_cues)."""
    return HeadPredictor("rumour")


def load_accurate_informativeness_predictor() -> HeadPredictor:
    """Informativeness from the e5 head `models/informativeness_e5.npz`."""
    return HeadPredictor("informativeness")
