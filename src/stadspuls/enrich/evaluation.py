"""Measuring the door's models on labelled CSV files: one task interface, one report format.

A task (`TaskSpec`) names which columns hold the text and the gold label, which rows count, and
how to load a predictor: a callable `texts -> (labels, scores)`. The file's own label vocabulary
is the reference: predictions are mapped onto it (exact, then case- and punctuation-insensitive,
then through the task's `label_map`), so one model is scored on files that spell its labels
differently. `stadspuls eval` prints the per-class table and, as its last line, one JSON object.

A task may have two stages (docs/architecture.md): the door's fast model, and the accurate stage's
head over e5 embeddings (`TaskSpec.load_accurate`); the report says which one was evaluated.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np


class Predictor(Protocol):
    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]: ...


RowFilter = Callable[[Mapping[str, str]], bool]
ExtraReport = Callable[
    [
        Predictor,
        Sequence[Mapping[str, str]],
        Sequence[str],
        Sequence[str],
        Callable[[str], str | None],
    ],
    dict[str, object],
]
# Given the loaded predictor and the labels present in the data, return a predictor that only
# answers with (its equivalents of) those labels, e.g. sentiment on a binary review file.
Restrict = Callable[[Predictor, Sequence[str]], Predictor]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    load_predictor: Callable[[], Predictor]
    label_columns: tuple[str, ...] = ("label",)  # the first one present in the file is used
    text_columns: tuple[str, ...] = ("text",)
    row_filter: RowFilter | None = None
    restrict: Restrict | None = None
    # The model's label -> the data's spelling(s) of it, tried after the automatic matching.
    label_map: Mapping[str, Sequence[str]] = field(default_factory=dict)
    train_script: str | None = None  # path relative to the repository root
    description: str = ""
    # The accurate stage's predictor (enrich/accurate.py) and the head it needs
    # (`models/{accurate_head}_e5.npz`); None where the task has no accurate stage (language).
    load_accurate: Callable[[], Predictor] | None = None
    accurate_head: str | None = None
    # Further figures of the task (incident type: label sets, story level), given the loaded
    # predictor, the scored rows, their texts, gold labels and the mapping onto the data's.
    extra_report: ExtraReport | None = None


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    task: str
    n: int
    accuracy: float
    macro_f1: float
    posts_per_s: float
    classes: list[ClassScore]
    labels_unmapped: list[str]  # predicted labels that match no label of the data
    stage: str = "fast"  # which stage's model was evaluated: "fast" (the door) or "accurate"
    extra: dict[str, object] = field(default_factory=dict)  # the task's further figures

    def summary(self) -> dict[str, object]:
        return {
            "task": self.task,
            "stage": self.stage,
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "posts_per_s": round(self.posts_per_s, 1),
            **self.extra,
        }

    def table(self) -> str:
        width = max([len("label"), *(len(c.label) for c in self.classes)])
        lines = [f"{'label':<{width}}  precision  recall      f1  support"]
        for c in self.classes:
            lines.append(
                f"{c.label:<{width}}  {c.precision:9.3f}  {c.recall:6.3f}  {c.f1:6.3f}"
                f"  {c.support:7d}"
            )
        lines.append(f"{'macro':<{width}}  {'':9}  {'':6}  {self.macro_f1:6.3f}  {self.n:7d}")
        lines.append(f"accuracy {self.accuracy:.4f}  throughput {self.posts_per_s:,.0f} posts/s")
        if self.labels_unmapped:
            lines.append(
                "predicted labels the data does not know: " + ", ".join(self.labels_unmapped)
            )
        return "\n".join(lines)


def _norm(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", label.casefold())


class LabelMapper:
    """Maps a model's labels onto the data's vocabulary."""

    def __init__(self, data_labels: Iterable[str], label_map: Mapping[str, Sequence[str]]):
        self._exact = set(data_labels)
        self._by_norm: dict[str, str] = {}
        for label in sorted(self._exact):
            self._by_norm.setdefault(_norm(label), label)
        self._label_map = label_map
        self._cache: dict[str, str | None] = {}

    def __call__(self, predicted: str) -> str | None:
        if predicted in self._cache:
            return self._cache[predicted]
        found: str | None = None
        if predicted in self._exact:
            found = predicted
        elif _norm(predicted) in self._by_norm:
            found = self._by_norm[_norm(predicted)]
        else:
            for alias in self._label_map.get(predicted, ()):
                if alias in self._exact or _norm(alias) in self._by_norm:
                    found = alias if alias in self._exact else self._by_norm[_norm(alias)]
                    break
        self._cache[predicted] = found
        return found


def read_rows(path: Path, where: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if where:
        rows = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
    return rows


def pick_column(columns: Sequence[str], candidates: Sequence[str], what: str) -> str:
    for name in candidates:
        if name in columns:
            return name
    raise ValueError(f"no {what} column: expected one of {list(candidates)}, got {list(columns)}")


def score(
    task: str,
    gold: Sequence[str],
    predicted: Sequence[str | None],
    seconds: float,
    unmapped: Sequence[str] = (),
) -> Report:
    """Per-class precision/recall/F1 over the gold vocabulary; unmapped predictions are errors."""
    labels = sorted(set(gold))
    classes = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        support = sum(1 for g in gold if g == label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        classes.append(ClassScore(label, precision, recall, f1, support))
    n = len(gold)
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    return Report(
        task=task,
        n=n,
        accuracy=correct / n if n else 0.0,
        macro_f1=float(np.mean([c.f1 for c in classes])) if classes else 0.0,
        posts_per_s=n / seconds if seconds > 0 else float("inf"),
        classes=classes,
        labels_unmapped=sorted(set(unmapped)),
    )


STAGES = ("fast", "accurate")


def accurate_unavailable(spec: TaskSpec, models_dir: Path | None = None) -> str | None:
    """Why the task's accurate stage cannot be evaluated here, or None when it can."""
    if spec.load_accurate is None or spec.accurate_head is None:
        return f"{spec.name} has no accurate stage"
    exists = getattr(spec.load_accurate, "exists", None)
    if callable(exists) and not exists():
        where = getattr(spec.load_accurate, "module", "its module")
        name = getattr(spec.load_accurate, "attribute", "its loader")
        return f"{where} has no {name}() yet"
    from stadspuls.enrich.heads import MODELS, head_path

    path = head_path(spec.accurate_head, models_dir or MODELS)
    if not path.is_file():
        return f"its head {path.name} is not trained"
    return None


def default_stage(spec: TaskSpec, stage_on: bool, models_dir: Path | None = None) -> str:
    """The stage that scores the posts that raise alerts: "accurate" when the settings run the
    accurate stage (`stage_on`) and the task's accurate loader and head exist, else "fast"."""
    if stage_on and accurate_unavailable(spec, models_dir) is None:
        return "accurate"
    return "fast"


def evaluate_rows(
    spec: TaskSpec, rows: Sequence[Mapping[str, str]], batch: int = 4096, stage: str = "fast"
) -> Report:
    if not rows:
        raise ValueError("no rows to evaluate")
    columns = list(rows[0].keys())
    label_col = pick_column(columns, spec.label_columns, "label")
    text_col = pick_column(columns, spec.text_columns, "text")
    if spec.row_filter is not None:
        rows = [r for r in rows if spec.row_filter(r)]
        if not rows:
            raise ValueError("the task's row filter left no rows")
    gold = [r[label_col] for r in rows]
    texts = [r[text_col] or "" for r in rows]
    data_labels = sorted(set(gold))
    if stage not in STAGES:
        raise ValueError(f"stage is one of {', '.join(STAGES)}, not {stage!r}")
    if stage == "accurate":
        why = accurate_unavailable(spec)
        if why is not None or spec.load_accurate is None:
            raise ValueError(f"the accurate stage of {spec.name} cannot be evaluated: {why}")
        predictor = spec.load_accurate()
    else:
        predictor = spec.load_predictor()
    if spec.restrict is not None:
        predictor = spec.restrict(predictor, data_labels)
    predictor(texts[:8])  # warm-up: lazy loading is not prediction throughput
    predicted: list[str] = []
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        labels, _scores = predictor(texts[i : i + batch])
        predicted.extend(labels)
    seconds = time.perf_counter() - start
    mapper = LabelMapper(data_labels, spec.label_map)
    mapped = [mapper(p) for p in predicted]
    unmapped = [p for p, m in zip(predicted, mapped, strict=True) if m is None]
    extra = spec.extra_report(predictor, rows, texts, gold, mapper) if spec.extra_report else {}
    return replace(score(spec.name, gold, mapped, seconds, unmapped), stage=stage, extra=extra)


def evaluate_file(
    spec: TaskSpec,
    path: Path,
    where: Mapping[str, str] | None = None,
    limit: int | None = None,
    stage: str = "fast",
) -> Report:
    rows = read_rows(path, where)
    if limit is not None:
        rows = rows[:limit]
    return evaluate_rows(spec, rows, stage=stage)


def format_report(report: Report) -> str:
    """The table, then the one-line JSON summary as the last line (other tools parse it)."""
    return report.table() + "\n" + json.dumps(report.summary())
