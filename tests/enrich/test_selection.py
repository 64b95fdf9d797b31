"""Nested selection: the figure it reports is not flattered by the choice it made."""

from __future__ import annotations

import numpy as np

from stadspuls.enrich.selection import (
    group_folds,
    nested_cv,
    stratified_folds,
    stratified_holdout,
)


def accuracy_scorer(y: np.ndarray):  # type: ignore[no-untyped-def]
    def score(idx: np.ndarray, scores: np.ndarray) -> float:
        return float((scores.argmax(axis=1) == y[idx]).mean())

    return score


def test_on_noise_the_nested_figure_stays_at_chance_while_the_plain_best_is_flattered() -> None:
    rng = np.random.default_rng(3)
    n, events = 600, [f"e{i}" for i in range(6)]
    y = rng.integers(0, 2, n)
    groups = [events[i % 6] for i in range(n)]
    # 40 candidates that are pure noise: each predicts from its own random column.
    noise = rng.random((n, 40))

    def fit_predict(c: int, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        # "training" picks the column's orientation that fits the training rows best
        agree = ((noise[train, c] > 0.5) == y[train]).mean()
        p = noise[test, c] if agree >= 0.5 else 1 - noise[test, c]
        return np.column_stack([1 - p, p])

    result = nested_cv(list(range(40)), groups, fit_predict, accuracy_scorer(y), inner_k=3)
    nested = accuracy_scorer(y)(np.flatnonzero(result.scored), result.outer_scores[result.scored])
    _, plain_best = result.best_plain()
    assert result.scored.all()
    assert set(result.chosen) == set(events)
    assert plain_best > nested + 0.03  # choosing among 40 noise columns on the test folds flatters
    assert abs(nested - 0.5) < 0.08


def test_a_real_signal_is_chosen_in_every_fold_and_train_only_rows_are_never_scored() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    signal = y + rng.normal(0, 0.3, n)
    groups = [f"e{i % 4}" for i in range(n)]
    groups[:20] = [""] * 20  # training data only

    def fit_predict(c: str, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        x = signal[test] if c == "signal" else rng.random(len(test))
        p = np.clip(x, 0, 1)
        return np.column_stack([1 - p, p])

    result = nested_cv(["noise", "signal"], groups, fit_predict, accuracy_scorer(y))
    assert set(result.chosen.values()) == {"signal"}
    assert not result.scored[:20].any()
    assert result.scored[20:].all()


def test_folds_and_holdout_are_fixed_and_balanced() -> None:
    labels = ["a"] * 50 + ["b"] * 30
    mask = stratified_holdout(labels, 0.2, seed=0)
    assert mask.sum() == 16
    assert mask[:50].sum() == 10
    assert (mask == stratified_holdout(labels, 0.2, seed=0)).all()
    folds = stratified_folds(labels, 5)
    assert sorted(np.bincount(folds[:50])) == [10] * 5
    g = group_folds(["x"] * 10 + ["y"] * 6 + ["z"] * 5, 2)
    assert g[0] != g[10]
    assert g[10] == g[16]


def test_rows_without_an_event_are_only_ever_trained_on() -> None:
    # Five events and a block of rows that belong to none (synthetic, other data sets): they
    # are in every training set and in no test fold, outer or inner; inner folds are events.
    groups = [f"e{i % 5}" for i in range(50)] + [""] * 30
    y = np.zeros(len(groups), dtype=np.int64)
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def fit_predict(c: int, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        seen.append((train, test))
        return np.tile([1.0, 0.0], (len(test), 1))

    nested_cv([0, 1], groups, fit_predict, accuracy_scorer(y), inner_k=3, plain=False)
    no_event = set(range(50, 80))
    assert seen
    for train, test in seen:
        assert no_event <= set(train.tolist())
        assert not no_event & set(test.tolist())
    # Per outer event: 2 candidates x 3 inner folds of the 4 other events, then the outer fit.
    assert len(seen) == 5 * (2 * 3 + 1)
