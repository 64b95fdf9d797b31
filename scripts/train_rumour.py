"""Train the rumour models (fast n-gram model and accurate e5 head) with nested selection.

    export STADSPULS_E5_CACHE=/work/e5cache
    nice -n 10 .venv/bin/python scripts/train_rumour.py [--data-dir ../shared/data] [--no-save]

Every setting is chosen by nested leave-one-event-out cross-validation over the PHEME events
minus `selection.HELDOUT_PHEME` (ebola-essien is training data only: 14 rumours, never a fold).
The script reports, per stage (fast, accurate head, their average):

- `nested_macro_f1`: pooled outer predictions, each outer event scored by the setting chosen
  on the other events only (the honest figure);
- `plain_best_macro_f1`: the best candidate's leave-one-event-out figure on the same events
  (what a naive search reports);
- `heldout_macro_f1`: once, at the end, the kept-out events, scored by the setting chosen on all
  other events, trained on all of them.

The shipped artefacts are then trained on all the data (kept-out events included) with that
setting. `scripts/train_informativeness.py` runs the same procedure on CrisisLexT26.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score

from stadspuls.enrich.heads import dense_head, head_path
from stadspuls.enrich.rumour_cues import CUE_NAMES, cue_matrix, mask, masked_ngrams
from stadspuls.enrich.selection import HELDOUT_PHEME, TRAIN_ONLY_PHEME, cross_val_scores
from stadspuls.enrich.selection import nested_cv as run_nested
from stadspuls.enrich.textclf import FeatureSpec, Featurizer, LinearModel, from_sklearn, softmax

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "src" / "stadspuls" / "enrich" / "models"
SPEC = FeatureSpec()  # the door's shared n-gram spec: the fast model must keep it
MAX_WEIGHTS = 250_000
SEED = 13
CUE_WEIGHT = 1.0  # cue block next to an l2-normalised n-gram block
Rows = list[dict[str, str]]
# A candidate: (stage, features, C). Stages: "fast" (n-grams, SGD), "head" (e5 + extras, LR),
# "avg" (mean probability of a fast and a head candidate: features "fastC|headfeatures|headC").
Candidate = tuple[str, str, float]


def read(path: Path) -> Rows:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Macro-F1 over the gold labels (as `stadspuls eval` scores it)."""
    labels = sorted(set(gold))
    return float(f1_score(list(gold), list(pred), labels=labels, average="macro", zero_division=0))


@dataclass
class Task:
    name: str
    texts: list[str]
    labels: list[str]
    events: list[str]
    heldout: tuple[str, ...]
    train_only: tuple[str, ...] = ()
    fast_cs: tuple[float, ...] = (0.125, 0.5, 2.0)
    head_cs: tuple[float, ...] = (0.25, 1.0, 4.0)
    head_features: tuple[str, ...] = ("e5", "e5+cues")
    avg_fast_cs: tuple[float, ...] | None = None  # default: fast_cs
    inner_k: int = 4
    head_tol: float = 1e-4
    balanced: bool = True
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def label_order(self) -> list[str]:
        return sorted(set(self.labels))


class Features:
    """Every feature block of every row, computed once."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.blocks: dict[str, Any] = {}

    def ensure(self, stage: str) -> None:
        """Compute the blocks `stage` reads (e5 only when a head stage comes: the embedding
        cache may still be filling while the fast stages run)."""
        started = time.perf_counter()
        texts = self.task.texts
        if stage in ("fast", "avg") and "ngram" not in self.blocks:
            self.blocks["ngram"] = Featurizer(SPEC).transform(texts)
        if stage == "fast-masked" and "masked+cues" not in self.blocks:
            masked = Featurizer(SPEC).transform([mask(t) for t in texts])
            cues = sp.csr_matrix(cue_matrix(texts) * CUE_WEIGHT)
            self.blocks["masked+cues"] = sp.hstack([masked, cues], format="csr")
        if stage in ("head", "avg") and "e5" not in self.blocks:
            from stadspuls.enrich.embeddings import EmbeddingCache

            vectors = EmbeddingCache.default().embed(texts)
            self.blocks["e5"] = vectors
            self.blocks["e5+cues"] = np.hstack([vectors, cue_matrix(texts)])
            if "e5+cues+masked" in self.task.head_features:
                self.blocks["e5+cues+masked"] = sp.hstack(
                    [sp.csr_matrix(self.blocks["e5+cues"]), masked_ngrams(texts)], format="csr"
                )
        print(f"{stage} features in {time.perf_counter() - started:.1f}s", flush=True)


def fit_fast(x: Any, y: Sequence[str], c: float, balanced: bool) -> Any:
    model = SGDClassifier(
        loss="log_loss",
        alpha=1.0 / (c * x.shape[0]),
        max_iter=30,
        tol=1e-4,
        class_weight="balanced" if balanced else None,
        random_state=SEED,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, list(y))
    return model


def fit_head(x: Any, y: Sequence[str], c: float, balanced: bool, tol: float = 1e-4) -> Any:
    model = LogisticRegression(
        C=c, max_iter=1000, class_weight="balanced" if balanced else None, tol=tol
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, list(y))
    return model


class Trainer:
    """fit_predict for `selection.nested_cv`, memoised (the average reuses its parts)."""

    def __init__(self, task: Task, features: Features) -> None:
        self.task = task
        self.features = features
        self.y = np.asarray(task.labels)
        self.order = task.label_order
        self.memo: dict[tuple[Candidate, bytes, bytes], np.ndarray] = {}
        self.develop: Trainer | None = None

    def estimator(self, candidate: Candidate, train: np.ndarray) -> Any:
        stage, feats, c = candidate
        x = self.features.blocks[feats][train]
        if stage == "fast":
            return fit_fast(x, self.y[train], c, self.task.balanced)
        return fit_head(x, self.y[train], c, self.task.balanced, self.task.head_tol)

    def __call__(self, candidate: Candidate, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        key = (candidate, train.tobytes(), test.tobytes())
        if key not in self.memo:
            self.memo[key] = self._proba(candidate, train, test)
        return self.memo[key]

    def _proba(self, candidate: Candidate, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        stage, feats, _ = candidate
        if stage == "avg":
            fast_c, head_feats, head_c = feats.split("|")
            fast = self(("fast", "ngram", float(fast_c)), train, test)
            head = self(("head", head_feats, float(head_c)), train, test)
            return (fast + head) / 2  # type: ignore[no-any-return]
        present = sorted(set(self.y[train]))
        out = np.zeros((len(test), len(self.order)))
        if len(present) == 1:  # an inner fold may train on one class only
            out[:, self.order.index(present[0])] = 1.0
            return out
        model = self.estimator(candidate, train)
        proba = model.predict_proba(self.features.blocks[feats][test])
        for j, label in enumerate(model.classes_):
            out[:, self.order.index(str(label))] = proba[:, j]
        return out

    def score(self, idx: np.ndarray, proba: np.ndarray) -> float:
        pred = [self.order[i] for i in proba.argmax(axis=1)]
        return macro_f1(list(self.y[idx]), pred)


def best_temperature(proba: np.ndarray, gold: np.ndarray, order: list[str]) -> float:
    target = np.array([order.index(g) for g in gold])
    logp = np.log(np.clip(proba, 1e-9, 1.0))

    def nll(t: float) -> float:
        p = softmax(logp / t)
        return float(-np.log(p[np.arange(len(target)), target] + 1e-12).mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def per_event(task: Task, idx: np.ndarray, pred: Sequence[str]) -> dict[str, dict[str, float]]:
    events = np.asarray(task.events)[idx]
    gold = np.asarray(task.labels)[idx]
    pred_arr = np.asarray(pred)
    out = {}
    for event in sorted(set(events)):
        rows = events == event
        out[str(event)] = {
            "n": int(rows.sum()),
            "macro_f1": round(macro_f1(list(gold[rows]), list(pred_arr[rows])), 4),
        }
    return out


def candidates_of(task: Task, stage: str) -> list[Candidate]:
    if stage == "fast":
        return [("fast", "ngram", c) for c in task.fast_cs]
    if stage == "fast-masked":
        return [("fast", "masked+cues", c) for c in task.fast_cs]
    if stage == "head":
        return [("head", f, c) for f in task.head_features for c in task.head_cs]
    return [
        ("avg", f"{fc}|{f}|{hc}", 0.0)
        for fc in task.avg_fast_cs or task.fast_cs
        for f in task.head_features
        for hc in task.head_cs
    ]


def evaluate(task: Task, trainer: Trainer, stage: str) -> tuple[Candidate, dict[str, Any]]:
    """Nested, plain and kept-out figures of one stage; returns the final setting."""
    started = time.perf_counter()
    events = np.asarray(task.events)
    develop = np.flatnonzero(~np.isin(events, task.heldout))
    kept = np.flatnonzero(np.isin(events, task.heldout))
    # nested_cv over the development rows only (kept-out events are not even training data).
    outer = ["" if e in task.train_only else e for e in events[develop]]
    sub = Task(
        task.name,
        [task.texts[i] for i in develop],
        [task.labels[i] for i in develop],
        [task.events[i] for i in develop],
        (),
        task.train_only,
        balanced=task.balanced,
        head_tol=task.head_tol,
    )
    # One trainer over the development rows for all stages: its memo serves the average.
    if trainer.develop is None:
        trainer.develop = Trainer(sub, Features(sub))
    sub_trainer = trainer.develop
    for name, block in trainer.features.blocks.items():
        if name not in sub_trainer.features.blocks:
            sub_trainer.features.blocks[name] = block[develop]
    candidates = candidates_of(task, stage)
    result = run_nested(
        candidates,
        outer,
        sub_trainer,
        sub_trainer.score,
        inner_groups=sub.events,
        inner_k=task.inner_k,
    )
    scored = np.flatnonzero(result.scored)
    order = sub_trainer.order
    nested_pred = [order[i] for i in result.outer_scores[scored].argmax(axis=1)]
    nested = macro_f1([sub.labels[i] for i in scored], nested_pred)
    best_plain, plain = result.best_plain()
    # The final setting: the one chosen the same way on all development events (the plain
    # best); its temperature from its out-of-fold probabilities there.
    final = best_plain
    names = sorted({e for e in outer if e})
    folds = np.array([names.index(e) if e else -1 for e in outer], dtype=np.int64)
    oof = cross_val_scores(final, folds, np.arange(len(develop)), sub_trainer)
    assert oof is not None
    fold_rows = np.flatnonzero(folds >= 0)
    temperature = best_temperature(oof[fold_rows], np.asarray(sub.labels)[fold_rows], order)
    # Once, at the end: the kept-out events.
    kept_proba = trainer(final, develop, kept)
    kept_pred = [order[i] for i in kept_proba.argmax(axis=1)]
    kept_gold = [task.labels[i] for i in kept]
    report = {
        "candidates": [list(c) for c in candidates],
        "nested_macro_f1": round(nested, 4),
        "nested_by_event": per_event(sub, scored, nested_pred),
        "nested_chosen": {k: list(v) for k, v in result.chosen.items()},
        "plain_best_macro_f1": round(plain, 4),
        "plain_best": list(best_plain),
        "plain_by_candidate": {"/".join(map(str, c)): round(s, 4) for c, s in result.plain.items()},
        "final_setting": list(final),
        "temperature": round(temperature, 4),
        "heldout_events": list(task.heldout),
        "heldout_macro_f1": round(macro_f1(kept_gold, kept_pred), 4),
        "heldout_by_event": per_event(task, kept, kept_pred),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"{task.name} {stage}: {json.dumps(report, default=float)}", flush=True)
    return final, report


def train_fast(task: Task, trainer: Trainer, setting: Candidate, temperature: float) -> LinearModel:
    everything = np.arange(len(task.texts))
    estimator = trainer.estimator(setting, everything)
    nnz = int(np.count_nonzero(estimator.coef_))
    model = from_sklearn(estimator, SPEC, keep=min(1.0, MAX_WEIGHTS / max(nnz, 1)))
    model.temperature = temperature
    model.meta["task"] = task.name
    return model


def train_head(task: Task, trainer: Trainer, setting: Candidate, temperature: float) -> LinearModel:
    everything = np.arange(len(task.texts))
    estimator = trainer.estimator(setting, everything)
    extras = {
        "e5": [],
        "e5+cues": ["rumour_cues:cue_matrix"],
        "e5+cues+masked": ["rumour_cues:cue_matrix", "rumour_cues:masked_ngrams"],
    }[setting[1]]
    model = dense_head(estimator, extras=extras, meta={"task": task.name, "cues": list(CUE_NAMES)})
    model.temperature = temperature
    return model


def train_masked_head(
    task: Task, trainer: Trainer, setting: Candidate, temperature: float
) -> LinearModel:
    """The masked n-gram + cue model as an accurate-stage head without the embedding: what the
    stage runs on matched posts when it beat the e5 head on the nested figure."""
    everything = np.arange(len(task.texts))
    estimator = trainer.estimator(setting, everything)
    model = dense_head(
        estimator,
        extras=["rumour_cues:masked_ngrams", "rumour_cues:cue_matrix"],
        meta={"task": task.name, "embedding": False, "cues": list(CUE_NAMES)},
    )
    model.temperature = temperature
    return model


# The accurate stage's head of a task is whichever of these had the better nested figure.
HEAD_STAGES = ("head", "fast-masked")


def run(task: Task, stages: Sequence[str], save: bool, command: str) -> dict[str, Any]:
    trainer = Trainer(task, Features(task))
    report: dict[str, Any] = {
        "task": task.name,
        "n": len(task.texts),
        "date": dt.date.today().isoformat(),
        "command": command,
    }
    finals: dict[str, Candidate] = {}
    for stage in stages:
        trainer.features.ensure(stage)
        finals[stage], report[stage] = evaluate(task, trainer, stage)
    heads = [s for s in HEAD_STAGES if s in finals]
    if heads:  # chosen on the nested figure, never on the kept-out one
        report["accurate_stage_head"] = max(heads, key=lambda s: report[s]["nested_macro_f1"])
    if not save:
        return report
    for stage, final in finals.items():
        temperature = report[stage]["temperature"]
        if stage == "fast":
            model = train_fast(task, trainer, final, temperature)
            path = MODELS / f"{task.name}.npz"
        elif stage == report.get("accurate_stage_head") == "head":
            model = train_head(task, trainer, final, temperature)
            path = head_path(task.name, MODELS)
        elif stage == report.get("accurate_stage_head") == "fast-masked":
            model = train_masked_head(task, trainer, final, temperature)
            path = head_path(task.name, MODELS)
        else:
            continue
        model.meta["report"] = report[stage]
        model.save(path)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return report


def pheme_task(data: Path) -> Task:
    rows = [r for r in read(data / "rumours_pheme" / "dev.csv") if r["text"]]
    return Task(
        "rumour",
        [r["text"] for r in rows],
        [r["label"] for r in rows],
        [r["event"] for r in rows],
        HELDOUT_PHEME,
        TRAIN_ONLY_PHEME,
    )


STAGES = ("fast", "fast-masked", "head", "avg")


def main(
    make_task: Callable[[Path], Task] = pheme_task,
    argv: Sequence[str] | None = None,
    script: str = "scripts/train_rumour.py",
) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated")
    parser.add_argument("--no-save", action="store_true", help="evaluate only")
    parser.add_argument("--report", type=Path, default=None, help="write the report JSON here")
    parser.add_argument("--head-cs", default=None, help="override the head's C grid: 0.5,2")
    parser.add_argument("--head-features", default=None, help="override: e5,e5+cues")
    args = parser.parse_args(argv)
    if "STADSPULS_E5_CACHE" not in os.environ:
        print("note: STADSPULS_E5_CACHE is not set; using var/cache/e5", file=sys.stderr)
    stages = [s for s in args.stages.split(",") if s]
    command = " ".join([script, *(sys.argv[1:] if argv is None else argv)])
    task = make_task(args.data_dir)
    if args.head_cs:
        task.head_cs = tuple(float(c) for c in args.head_cs.split(","))
    if args.head_features:
        task.head_features = tuple(args.head_features.split(","))
    report = run(task, stages, not args.no_save, command)
    text = json.dumps(report, indent=1, default=float)
    print(text)
    if args.report:
        args.report.write_text(text)


if __name__ == "__main__":
    main()
