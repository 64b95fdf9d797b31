"""The rollup consumer keeps `monitor_buckets` and `monitor_facets` equal to a count from scratch
over the stored posts: through the real pipeline, with late posts, after a crash between store
and rollup, and when a monitor is created, edited or removed."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from stadspuls import monitors, rollups
from stadspuls.cli.main import main
from stadspuls.consumers import Consumers
from stadspuls.enrich.door import build_door
from stadspuls.monitors import MonitorLinker
from stadspuls.pipeline import Pipeline
from stadspuls.records import Monitor, Post
from stadspuls.settings import Settings
from stadspuls.store import monitors as monitor_store
from stadspuls.store.schema import monitor_buckets, monitor_facets, monitor_posts, posts
from tests.factories import T0, make_post
from tests.test_consumers import FailsOnce

HOUR = rollups.HOUR_US
DAY = rollups.DAY_US

TEXTS = [
    "Uitslaande brand in een loods in Lochem #brand #Lochem",
    "Dijk bij Lochem houdt het, geen wateroverlast #dijk",
    "Drukte op Stratumseind in Eindhoven, politie aanwezig #drukte",
    "Wat een prachtige avond op Stratumseind, heerlijk feest #PSV",
    "Stroomstoring in Groningen na vuurwerk, vreselijk #storing",
    "Brand in fabriek in Deventer, zwarte rook #BRAND #brand",
]


def _monitor(name: str, query: str) -> Monitor:
    return Monitor(
        name=name, query=query, owner="team-oost", purpose="tests of the rollups",
        legal_basis="public-task", retention_days=30,
    )  # fmt: skip


def _posts(n: int, first: int = 0, *, late: bool = False) -> list[Post]:
    """`n` posts 7 minutes apart from T0, by 9 authors; `late` ones start at T0 + 3 minutes
    (into hours and days counted before), later ones after post number `first`."""
    start = 3 if late else 7 * first
    return [
        make_post(
            i,
            TEXTS[i % len(TEXTS)] + f" nummer {i}",
            author=f"user{(i * 7) % 9}.bsky.social",
            created_at=T0 + timedelta(minutes=start + 7 * (i - first)),
        )
        for i in range(first, first + n)
    ]


def _store(settings: Settings, engine: sa.Engine, batches: Iterator[list[Post]],
           group: Consumers) -> None:  # fmt: skip
    pipeline = Pipeline(engine, build_door(settings), on_commit=group.wake)
    for batch in batches:
        pipeline.process(batch)
    pipeline.close()
    assert group.drain()


def _chunks(items: list[Post], size: int) -> Iterator[list[Post]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stored_cells(engine: sa.Engine) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    b, f = monitor_buckets.c, monitor_facets.c
    with engine.connect() as conn:
        buckets = {tuple(row) for row in conn.execute(sa.select(
            b.monitor_id, b.start_us, b.posts, b.authors, b.negative, b.neutral, b.positive,
            b.last_us))}  # fmt: skip
        facets = {tuple(row) for row in conn.execute(sa.select(
            f.monitor_id, f.day_us, f.kind, f.value, f.posts, f.authors, f.negative))}  # fmt: skip
    return buckets, facets


def _reference(engine: sa.Engine) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The same cells counted from scratch: GROUP BY over the linked posts (the JSON lists of
    hashtags and places are unfolded in Python, where both dialects read them alike)."""
    mp, p = monitor_posts.c, posts.c
    hour = (mp.created_us - mp.created_us % HOUR).label("hour")
    day = (mp.created_us - mp.created_us % DAY).label("day")
    linked = monitor_posts.join(posts, p.pk == mp.post_pk)

    def count(label: str) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((p.sentiment == label, 1), else_=0))

    buckets_query = (
        sa.select(mp.monitor_id, hour, sa.func.count(), sa.func.count(sa.distinct(p.author_key)),
                  count("negative"), count("neutral"), count("positive"),
                  sa.func.max(mp.created_us))
        .select_from(linked)
        .group_by(mp.monitor_id, hour)
    )  # fmt: skip
    facets: set[tuple[Any, ...]] = set()
    with engine.connect() as conn:
        buckets = {tuple(int(v) for v in row) for row in conn.execute(buckets_query)}
        for kind, column in (("type", p.incident_type), ("lang", p.lang), ("source", p.source)):
            query = (
                sa.select(mp.monitor_id, day, column, sa.func.count(),
                          sa.func.count(sa.distinct(p.author_key)), count("negative"))
                .select_from(linked)
                .where(column.is_not(None))
                .group_by(mp.monitor_id, day, column)
            )  # fmt: skip
            for m, d, value, n, a, neg in conn.execute(query):
                facets.add((int(m), int(d), kind, value, int(n), int(a), int(neg)))
        cells: dict[tuple[int, int, str, str], tuple[set[int], set[str], int]] = {}
        listed = sa.select(mp.monitor_id, day, p.pk, p.author_key, p.sentiment, p.hashtags,
                           p.places).select_from(linked)  # fmt: skip
        for m, d, pk, author, sentiment, tags, places in conn.execute(listed):
            values = {("tag", t.lower()) for t in json.loads(tags or "[]")}
            values |= {("place", place["code"]) for place in json.loads(places or "[]")}
            for kind, value in values:
                ids, authors, negative = cells.get((m, d, kind, value), (set(), set(), 0))
                ids.add(pk)
                if author is not None:
                    authors.add(author)
                cells[m, d, kind, value] = (ids, authors, negative + (sentiment == "negative"))
    for (m, d, kind, value), (ids, authors, negative) in cells.items():
        facets.add((m, d, kind, value, len(ids), len(authors), negative))
    return buckets, facets


def _setup(engine: sa.Engine) -> None:
    for name, query in [("lochem", "lochem"), ("brand", "brand OR vuurwerk"),
                        ("stad", "stratumseind OR groningen")]:  # fmt: skip
        monitors.create(engine, _monitor(name, query))


def test_a_replay_through_the_pipeline_equals_a_count_from_scratch_with_late_posts(
    settings: Settings, engine: sa.Engine
) -> None:
    _setup(engine)
    group = Consumers(engine, [MonitorLinker(engine), rollups.RollupConsumer(engine)],
                      poll_s=0.05)  # fmt: skip
    with group:
        _store(settings, engine, _chunks(_posts(120), 25), group)
        # Late posts: for hours and days already counted, by authors already counted there.
        _store(settings, engine, _chunks(_posts(40, 500, late=True), 15), group)
    buckets, facets = _stored_cells(engine)
    assert (buckets, facets) == _reference(engine)
    assert {kind for _, _, kind, *_ in facets} >= {"tag", "place", "type", "lang", "source"}
    # The late posts did land in hours that held posts before.
    assert any(cell[2] > cell[3] for cell in buckets)
    assert rollups.rebuild(engine) == sum(cell[2] for cell in buckets)
    assert _stored_cells(engine) == (buckets, facets)  # a rebuild changes nothing


def test_a_crash_between_store_and_rollup_gives_the_same_cells(
    settings: Settings, engine: sa.Engine
) -> None:
    _setup(engine)
    consumer = FailsOnce(rollups.RollupConsumer(engine), times=2)
    group = Consumers(engine, [MonitorLinker(engine), consumer], poll_s=0.05, backoff_s=0.01)
    with group:
        _store(settings, engine, _chunks(_posts(90), 30), group)
    assert consumer.left == 0
    assert _stored_cells(engine) == _reference(engine)


def test_monitors_created_edited_and_removed_have_their_cells_rebuilt(
    settings: Settings, engine: sa.Engine, tmp_path: Path
) -> None:
    _setup(engine)
    group = Consumers(engine, [MonitorLinker(engine), rollups.RollupConsumer(engine)],
                      poll_s=0.05)  # fmt: skip
    with group:
        _store(settings, engine, _chunks(_posts(80), 20), group)
        # Created after the posts: its backfilled links are counted at once.
        fire, matched = monitors.create(engine, _monitor("vuur", "brand OR storing"))
        assert matched > 0
        assert _stored_cells(engine) == _reference(engine)
        assert fire.id is not None
        edited, _ = monitors.edit(engine, monitors.replace(fire, query="dijk"))
        assert _stored_cells(engine) == _reference(engine)
        _store(settings, engine, _chunks(_posts(30, 200), 10), group)
    assert _stored_cells(engine) == _reference(engine)
    assert edited.id is not None
    assert monitor_store.delete_monitor(engine, edited.id)
    buckets, facets = _stored_cells(engine)
    assert not [c for c in buckets if c[0] == edited.id]
    assert (buckets, facets) == _reference(engine)


def test_deleted_posts_stay_counted(settings: Settings, engine: sa.Engine) -> None:
    _setup(engine)
    group = Consumers(engine, [MonitorLinker(engine), rollups.RollupConsumer(engine)],
                      poll_s=0.05)  # fmt: skip
    with group:
        _store(settings, engine, _chunks(_posts(40), 20), group)
    before = _stored_cells(engine)
    with engine.begin() as conn:
        conn.execute(monitor_posts.delete())
        conn.execute(posts.delete())
    assert _stored_cells(engine) == before  # counts only: retention leaves them


def test_the_rebuild_command_recounts_one_monitor_or_all(
    settings: Settings, engine: sa.Engine
) -> None:
    _setup(engine)
    group = Consumers(engine, [MonitorLinker(engine), rollups.RollupConsumer(engine)],
                      poll_s=0.05)  # fmt: skip
    with group:
        _store(settings, engine, _chunks(_posts(60), 20), group)
    expected = _stored_cells(engine)
    with engine.begin() as conn:
        conn.execute(monitor_buckets.update().values(posts=999))
        conn.execute(monitor_facets.delete())
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    one = runner.invoke(main, ["db", "rollups", "--rebuild", "--monitor", "lochem",
                               "--db", url])  # fmt: skip
    assert one.exit_code == 0, one.output
    assert "lochem" in one.output
    lochem = monitor_store.find_monitor(engine, "lochem")
    assert lochem is not None
    buckets, _ = _stored_cells(engine)
    assert {c for c in buckets if c[0] == lochem.id} == {
        c for c in expected[0] if c[0] == lochem.id
    }
    everything = runner.invoke(main, ["db", "rollups", "--rebuild", "--db", url])
    assert everything.exit_code == 0, everything.output
    assert _stored_cells(engine) == expected
    unknown = runner.invoke(main, ["db", "rollups", "--rebuild", "--monitor", "nope", "--db", url])
    assert unknown.exit_code != 0
    assert "nope" in unknown.output


def test_per_author_counting_is_exact_within_a_chunk_and_across_chunks() -> None:
    tally = rollups.Tally()
    for author in ["a", "b", "a", None]:
        tally.add(1, 5 * HOUR + 10, author, "negative", {("tag", "x")})
    (bucket,) = tally.bucket_rows()
    assert (bucket["posts"], bucket["authors"], bucket["negative"]) == (4, 2, 4)
    assert defaultdict(int, {r["kind"]: r["authors"] for r in tally.facet_rows()})["tag"] == 2


def test_a_rollup_added_to_a_filled_store_counts_the_archive(
    settings: Settings, engine: sa.Engine
) -> None:
    _setup(engine)
    with Consumers(engine, [MonitorLinker(engine)], poll_s=0.05) as linker_only:
        _store(settings, engine, _chunks(_posts(60), 20), linker_only)
    # Started like `stadspuls run` does: the other consumers at the newest post.
    group = Consumers(engine, [MonitorLinker(engine), rollups.RollupConsumer(engine)],
                      poll_s=0.05, start="now")  # fmt: skip
    with group:
        assert group.drain()
        _store(settings, engine, _chunks(_posts(20, 100), 10), group)
    buckets, facets = _stored_cells(engine)
    assert sum(cell[2] for cell in buckets) > 60
    assert (buckets, facets) == _reference(engine)
