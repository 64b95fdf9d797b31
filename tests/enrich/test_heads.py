"""Accurate-stage heads: what training saves is what the stage computes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from stadspuls.enrich.heads import EmbeddingHead, dense_head, head_features, resolve_extra


def question_marks(texts: Sequence[str]) -> np.ndarray:  # an extra block for the test
    return np.array([[t.count("?")] for t in texts], dtype=np.float32)


def test_a_saved_head_scores_like_the_fitted_estimator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stadspuls.enrich.embeddings as module

    monkeypatch.setattr(module, "question_marks", question_marks, raising=False)
    rng = np.random.default_rng(0)
    texts = [("is it true?" if i % 2 else "it is so") for i in range(200)]
    vectors = rng.normal(size=(200, 384)).astype(np.float32)
    y = np.array(["rumour" if i % 2 else "non-rumour" for i in range(200)])
    extras = [resolve_extra("embeddings:question_marks")]
    x = head_features(texts, vectors, extras)
    estimator = LogisticRegression(max_iter=500).fit(x, y)
    dense_head(estimator, extras=["embeddings:question_marks"]).save(tmp_path / "rumour_e5.npz")

    head = EmbeddingHead.load(tmp_path / "rumour_e5.npz")
    got = head.proba(texts, vectors)
    assert head.labels == ["non-rumour", "rumour"]
    np.testing.assert_allclose(got, estimator.predict_proba(x), atol=2e-3)  # float16 weights


def test_a_multilabel_head_gives_independent_probabilities_and_its_thresholds(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, 384)).astype(np.float32)
    fire = vectors[:, 0] > 0
    explosion = vectors[:, 1] > 0
    coef, intercept = [], []
    for target in (fire, explosion):
        lr = LogisticRegression(max_iter=500).fit(vectors, target)
        coef.append(lr.coef_[0])
        intercept.append(lr.intercept_[0])

    class OneVsRest:
        coef_ = np.array(coef)
        intercept_ = np.array(intercept)

    model = dense_head(
        OneVsRest(),
        labels=["fire", "explosion"],
        multilabel=True,
        meta={"thresholds": {"fire": 0.4}},
    )
    model.save(tmp_path / "incident_e5.npz")
    head = EmbeddingHead.load(tmp_path / "incident_e5.npz")
    proba = head.proba([""] * 300, vectors)
    both = (proba > 0.5).all(axis=1)
    assert ((fire & explosion) == both).mean() > 0.95  # a post can be both
    assert head.thresholds().tolist() == [0.4, 0.5]


def test_an_extra_outside_the_package_is_refused() -> None:
    with pytest.raises(ValueError, match=r"inside stadspuls\.enrich"):
        resolve_extra("os.path:join")
    with pytest.raises(ValueError, match="has no function"):
        resolve_extra("embeddings:nothing_here")


def test_a_head_of_extras_alone_reads_no_embedding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stadspuls.enrich.embeddings as module

    monkeypatch.setattr(module, "question_marks", question_marks, raising=False)
    texts = [("is it true?" if i % 2 else "it is so") for i in range(100)]
    y = np.array(["rumour" if i % 2 else "non-rumour" for i in range(100)])
    x = question_marks(texts)
    estimator = LogisticRegression(max_iter=500).fit(x, y)
    model = dense_head(estimator, extras=["embeddings:question_marks"], meta={"embedding": False})
    model.save(tmp_path / "rumour_e5.npz")
    head = EmbeddingHead.load(tmp_path / "rumour_e5.npz")
    assert not head.embedded
    # whatever vectors the stage computed for the other heads, this one ignores them
    with_vectors = head.proba(texts, np.ones((100, 384), dtype=np.float32))
    np.testing.assert_allclose(with_vectors, head.proba(texts, None))
    np.testing.assert_allclose(with_vectors, estimator.predict_proba(x), atol=2e-3)
