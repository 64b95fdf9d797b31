"""The stages on a real Redis and a real PostgreSQL, driven step by step in this process:
collector → two door workers → the writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis
import sqlalchemy as sa

from stadspuls.cluster import messages
from stadspuls.cluster.broker import Broker
from stadspuls.cluster.door import DoorWorker
from stadspuls.cluster.messages import CheckpointMessage, Done, PostMessage
from stadspuls.cluster.writer import ClusterWriter
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import Checkpoint, Deletion, Post, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.files import iter_file
from stadspuls.sources.replay import ReplaySource
from stadspuls.store.database import open_store
from tests.support.cluster import (
    ListSource,
    active_writer,
    cursors,
    door_workers,
    drain,
    numbered_posts,
    run_collector,
    stored_ids,
    stored_numbers,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
RECORDINGS = [FIXTURES / "jetstream_events.jsonl", FIXTURES / "jetstream_other_events.jsonl"]


def _single_process(settings: Settings, tmp_path: Path) -> tuple[list[str], list[str]]:
    """What `stadspuls run`'s pipeline stores from the recordings on SQLite: ids, tombstones."""
    engine = open_store(f"sqlite:///{tmp_path / 'reference.db'}")
    pipeline = Pipeline(engine, build_door(settings))
    for path in RECORDINGS:
        pipeline.process(iter_file(path, "jetstream"))
    pipeline.close()
    with engine.connect() as conn:
        tombs = sorted(r[0] for r in conn.execute(sa.text("SELECT id FROM tombstones")))
    ids = stored_ids(engine)
    engine.dispose()
    return ids, tombs


def test_every_post_stored_once_with_deletions_honoured(
    cluster_settings: Settings, tmp_path: Path
) -> None:
    expected_ids, expected_tombs = _single_process(cluster_settings, tmp_path)
    assert expected_ids
    assert expected_tombs
    sources = [ReplaySource(path, speed=0, format="jetstream") for path in RECORDINGS]
    run_collector(cluster_settings, sources)
    # Published twice (a collector restarted before anything was stored): stored once.
    run_collector(
        cluster_settings, [ReplaySource(RECORDINGS[0], speed=0, format="jetstream")], "c2"
    )
    with (
        door_workers(cluster_settings, "d1", "d2") as doors,
        active_writer(cluster_settings) as writer,
    ):
        cluster_settings_batch_one(doors)
        drain(doors, writer)
        assert all(door.heartbeat.counts.get("entries") for door in doors)  # both worked
        engine = writer.engine
        assert stored_ids(engine) == expected_ids
        with engine.connect() as conn:
            tombs = sorted(r[0] for r in conn.execute(sa.text("SELECT id FROM tombstones")))
            counters: dict[str, int] = dict(
                conn.execute(
                    sa.text("SELECT counter, value FROM source_counters WHERE source='bluesky'")
                ).all()
            )
        assert tombs == expected_tombs
        assert counters["stored"] == len(expected_ids)
        # Each replay's cursor is stored, and says the whole file is done.
        items = {s.stream_name: sum(1 for _ in iter_file(s.path, "jetstream")) for s in sources}
        assert cursors(engine) == {name: str(n) for name, n in items.items() if n}
    # The replays' streams are in `sources list`, stopped (they ended).
    engine = open_store(cluster_settings.db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source, state FROM source_status")).all()
    engine.dispose()
    states = {str(source): str(state) for source, state in rows}
    assert states == {s.stream_name: "stopped" for s in sources}
    # A collector started again resumes from the stored cursors: nothing left to publish.
    again = [ReplaySource(path, speed=0, format="jetstream") for path in RECORDINGS]
    assert run_collector(cluster_settings, again, "c3").published == 0


def cluster_settings_batch_one(doors: list[DoorWorker]) -> None:
    """Door workers taking few entries each, so that both get some of a small fixture."""
    for door in doors:
        door.cluster = door.cluster.model_copy(update={"batch": 3})


def test_a_dead_workers_pending_entries_are_taken_over(cluster_settings: Settings) -> None:
    # An idle time a loaded machine cannot pass between two lines of this test by accident.
    cluster = cluster_settings.cluster.model_copy(update={"claim_idle_s": 1.5})
    settings = cluster_settings.model_copy(update={"cluster": cluster})
    run_collector(settings, [ListSource(numbered_posts(20))])
    with (
        door_workers(settings, "dies", "lives") as (dies, lives),
        active_writer(settings) as writer,
    ):
        broker = dies.broker
        # The first worker reads a batch and dies before acknowledging it (SIGKILL).
        published = broker.redis.xlen(broker.items)
        taken = broker.read(broker.items, "door", "dies", 100, block_ms=10)
        assert len(taken) == published
        assert lives.step() == 0  # nothing new for the other, and nothing idle long enough
        time.sleep(cluster.claim_idle_s + 0.1)
        lives._claimed_at = 0.0
        assert lives.step() == published
        assert lives.heartbeat.counts["claimed"] == published
        drain([lives], writer)
        assert len(stored_ids(writer.engine)) == 20
        assert cursors(writer.engine) == {"list": "20"}
        pending = broker.redis.xpending(broker.items, "door")
        assert pending["pending"] == 0


def _enriched(broker: Broker, *entries: messages.EnrichedMessage) -> None:
    broker.publish(broker.enriched, [{messages.BODY: messages.encode(m)} for m in entries])


def _post(settings: Settings, n: int) -> Post:
    item = numbered_posts(n)[-2]
    assert isinstance(item, Post)
    return build_door(settings, mark_duplicates=False)([item])[0]


def test_the_cursor_waits_for_out_of_order_done_marks(cluster_settings: Settings) -> None:
    """Items 1-3 of a lane and a checkpoint (4) covering them; the worker of item 1 finishes
    last: until then the cursor is not stored, though items 2-4 are."""
    lane = "c/list/1"
    with active_writer(cluster_settings) as writer:
        broker = writer.broker
        p1, p2, p3 = (_post(cluster_settings, n) for n in (1, 2, 3))
        _enriched(broker, PostMessage(p2), PostMessage(p3))
        _enriched(broker, CheckpointMessage(Checkpoint("list", "3"), lane=lane, seq=4))
        _enriched(broker, Done({lane: [2, 3, 4]}))
        writer.step()
        assert stored_ids(writer.engine) == sorted([p2.id, p3.id])
        assert cursors(writer.engine) == {}  # post 1 is not stored: the cursor must wait
        with writer.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT watermark, state FROM cluster_lanes")).one()
        assert row.watermark == 0
        assert '"done":[2,3,4]' in row.state
        _enriched(broker, PostMessage(p1), Done({lane: [1]}))
        writer.step()
        assert stored_ids(writer.engine) == sorted([p1.id, p2.id, p3.id])
        assert cursors(writer.engine) == {"list": "3"}


def test_workers_finishing_out_of_order_never_move_the_cursor_past_an_unstored_post(
    cluster_settings: Settings,
) -> None:
    items = numbered_posts(12)
    run_collector(cluster_settings, [ListSource(items)])
    settings = cluster_settings.model_copy(
        update={"cluster": cluster_settings.cluster.model_copy(update={"batch": 2})}
    )
    with door_workers(settings, "a", "b", "c") as doors, active_writer(settings) as writer:
        broker = writer.broker
        # Each worker takes its entries now; they finish in the reverse order.
        batches = [(d, broker.read(broker.items, "door", d.name, 6, block_ms=10)) for d in doors]
        for door, entries in reversed(batches):
            door.process(entries)
            writer.step()
            stored = stored_numbers(writer.engine)
            cursor = int(cursors(writer.engine).get("list", "0"))
            assert set(range(1, cursor + 1)) <= stored
        drain(doors, writer)
        assert cursors(writer.engine) == {"list": "12"}


class _Poisoned:
    """An enricher that fails on one text (a bug meeting one odd post)."""

    name = "poisoned"

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        if any("nummer 3 " in post.text for post in posts):
            raise RuntimeError("this enricher cannot take post 3")
        return list(posts)


def test_poison_entries_go_to_the_dead_stream_and_block_nothing(
    cluster_settings: Settings,
) -> None:
    run_collector(cluster_settings, [ListSource(numbered_posts(5))])
    door = build_door(cluster_settings, mark_duplicates=False, extra=[_Poisoned()])
    broker = Broker(cluster_settings.cluster)
    # An entry whose body is not a message, in the same lane as the rest.
    newest: Any = broker.redis.xrevrange(broker.items, count=1)
    _, last = newest[0]
    lane, seq = last[messages.LANE].decode(), int(last[messages.SEQ])
    garbage = {
        messages.LANE: lane.encode(),
        messages.SEQ: str(seq + 1).encode(),
        messages.BODY: b"\xc1",
    }
    after = messages.item_fields(lane, seq + 2, CheckpointMessage(Checkpoint("list", "after")))
    broker.publish(broker.items, [garbage, after])
    worker = DoorWorker(cluster_settings, "d", door=door, broker=broker)
    worker.prepare()
    with active_writer(cluster_settings) as writer:
        for _ in range(3 * cluster_settings.cluster.max_attempts):
            worker.step()
            writer.step()
            time.sleep(cluster_settings.cluster.claim_idle_s + 0.05)
            worker._claimed_at = 0.0
        drain([worker], writer)
        dead: Any = broker.redis.xrange(broker.dead)
        assert len(dead) == 2
        errors = sorted(fields[b"error"].decode() for _, fields in dead)
        assert "this enricher cannot take post 3" in errors[0]
        assert "undecodable" in errors[1]
        assert stored_numbers(writer.engine) == {1, 2, 4, 5}
        # The dead entries are done: the checkpoint behind them is stored.
        assert cursors(writer.engine)["list"] == "after"
        with writer.engine.connect() as conn:
            dead_count = conn.execute(
                sa.text("SELECT value FROM source_counters WHERE counter = 'dead'")
            ).scalar()
        assert dead_count == 1  # the post; the garbage names no source
    broker.close()


def test_a_writer_restarted_before_acknowledging_duplicates_nothing(
    cluster_settings: Settings,
) -> None:
    run_collector(cluster_settings, [ListSource(numbered_posts(30))])
    with door_workers(cluster_settings, "d") as doors:
        for _ in range(5):
            doors[0].step()
    with active_writer(cluster_settings, "w1") as first:

        def crash(*args: object, **kwargs: object) -> None:
            raise SystemExit("killed between the commit and the XACK")

        first.broker.ack = crash  # type: ignore[method-assign]
        with pytest.raises(SystemExit):
            first.step()
        assert len(stored_ids(first.engine)) == 30
    # A new writer (another name: the first is gone) takes over the pending entries.
    with active_writer(cluster_settings, "w2") as second:
        assert second.heartbeat.counts["claimed"] > 0
        drain([], second)
        assert len(stored_ids(second.engine)) == 30
        with second.engine.connect() as conn:
            counters: dict[str, int] = dict(
                conn.execute(
                    sa.text("SELECT counter, value FROM source_counters WHERE source='test'")
                ).all()
            )
        assert counters == {"received": 30, "stored": 30}  # not counted twice
        assert cursors(second.engine) == {"list": "30"}


def test_near_duplicates_are_caught_across_two_workers(cluster_settings: Settings) -> None:
    base = "de brand in de haven van rotterdam is nu onder controle zegt de brandweer"
    posts: list[SourceItem] = [
        Post(id=f"test:{i}", source="test", native_id=str(i), text=text, author=f"u{i}",
             created_at=numbered_posts(1)[0].created_at)  # type: ignore[union-attr]
        for i, text in enumerate([base, base + " vanavond", base.upper() + "!"], start=1)
    ]  # fmt: skip
    run_collector(cluster_settings, [ListSource(posts)])
    with (
        door_workers(cluster_settings, "a", "b") as (a, b),
        active_writer(cluster_settings) as writer,
    ):
        broker = writer.broker
        first = broker.read(broker.items, "door", "a", 1, block_ms=10)
        rest = broker.read(broker.items, "door", "b", 10, block_ms=10)
        b.process(rest)  # the copies are enriched first, by another worker
        a.process(first)
        drain([a, b], writer)
        with writer.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT text, id, duplicate_of, duplicate_kind FROM posts")
            ).all()
    one, two, three = (next(r for r in rows if r.text == p.text) for p in posts)  # type: ignore[union-attr]
    # The writer saw worker b's posts first: 2, then 3 (a near copy of 2), then worker a's 1,
    # an exact copy of 3 (case and punctuation aside) though another worker enriched it.
    assert (two.duplicate_of, two.duplicate_kind) == (None, None)
    assert (three.duplicate_of, three.duplicate_kind) == (two.id, "near")
    assert (one.duplicate_of, one.duplicate_kind) == (three.id, "exact")


def test_a_standby_writer_waits_for_the_lock_and_takes_over(cluster_settings: Settings) -> None:
    with active_writer(cluster_settings, "active"):
        standby = ClusterWriter(cluster_settings, "standby")
        stop = threading.Event()
        timer = threading.Timer(0.5, stop.set)
        timer.start()
        assert standby.acquire(stop) is False
        assert standby.heartbeat.state == "standby"
    assert standby.acquire(threading.Event()) is True
    standby.release()
    standby.broker.close()
    standby.engine.dispose()


def test_the_writer_redoes_its_batch_after_losing_the_database(
    cluster_settings: Settings,
) -> None:
    run_collector(cluster_settings, [ListSource(numbered_posts(10))])
    with door_workers(cluster_settings, "d") as doors:
        drain_doors(doors)
    writer = ClusterWriter(cluster_settings, "w")
    stop = threading.Event()
    original = writer.write
    calls = []

    def write_after_a_restart(entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> None:
        calls.append(len(entries))
        if len(calls) == 1:
            # The server drops the writer's connections (as a PostgreSQL restart does).
            with writer.engine.connect() as conn:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        original(entries)
        if len(stored_ids(writer.engine)) == 10:
            stop.set()

    writer.write = write_after_a_restart  # type: ignore[method-assign]
    thread = threading.Thread(target=writer.run, args=(stop,))
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert len(calls) >= 2  # the first attempt failed and was redone from the broker
    assert len(stored_ids(writer.engine)) == 10
    assert cursors(writer.engine) == {"list": "10"}
    writer.broker.close()
    writer.engine.dispose()


def drain_doors(doors: list[DoorWorker]) -> None:
    broker = doors[0].broker
    while broker.lag(broker.items, "door"):
        for door in doors:
            door.step()


def test_redis_keeps_pending_entries_across_a_restart(tmp_path: Path) -> None:
    """The persistence the design relies on: with AOF, a restarted Redis still has the stream,
    the group and the pending list; a client retries until it is back."""
    import shutil
    import socket
    import subprocess

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (scripts/test-services.sh installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]  # fmt: skip

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        client.close()
        return process

    from stadspuls.settings import ClusterSettings

    process = start()
    processes: list[subprocess.Popen[bytes]] = [process]
    restarted = threading.Timer(0.5, lambda: processes.append(start()))
    settings = ClusterSettings(broker_url=f"redis://127.0.0.1:{port}/0", stream_prefix="r")
    broker = Broker(settings, backoff_max_s=0.2)
    try:
        broker.ensure_group(broker.items, "door")
        broker.publish(broker.items, [{b"m": b"1"}, {b"m": b"2"}])
        assert len(broker.read(broker.items, "door", "x", 1, block_ms=10)) == 1
        process.terminate()  # SIGTERM: Redis writes its AOF out and exits
        process.wait(10)
        restarted.start()
        # Called while Redis is down: retried until it is back.
        own = broker.read(broker.items, "door", "x", 10, own=True)
        assert [fields[b"m"] for _, fields in own] == [b"1"]
        assert broker.reconnects == 1
        fresh = broker.read(broker.items, "door", "x", 10, block_ms=10)
        assert [fields[b"m"] for _, fields in fresh] == [b"2"]
    finally:
        broker.close()
        if restarted.is_alive() or restarted.finished.is_set():
            # The broker may be back before start() returns: wait for it to hand its process.
            restarted.join(10)
        for p in processes:
            if p.poll() is None:
                p.terminate()
                p.wait(10)


def test_decode_of_enriched_post_keeps_enrichment(cluster_settings: Settings) -> None:
    post = _post(cluster_settings, 1)
    decoded = messages.decode_enriched({messages.BODY: messages.encode(PostMessage(post))})
    assert isinstance(decoded, PostMessage)
    assert msgspec.structs.asdict(decoded.post) == msgspec.structs.asdict(post)
    assert post.author is None
    assert post.author_key
    assert post.simhash is not None


def test_deletion_published_before_its_post_is_honoured(cluster_settings: Settings) -> None:
    post = numbered_posts(1)[0]
    assert isinstance(post, Post)
    deletion = Deletion(post.id, post.created_at)
    run_collector(cluster_settings, [ListSource([deletion, post])])
    with door_workers(cluster_settings, "d") as doors, active_writer(cluster_settings) as w:
        drain(doors, w)
        assert stored_ids(w.engine) == []
        with w.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM tombstones")).scalar() == 1


class _BrokenDeletions:
    """A door whose deletion keying fails (a bug outside the enrichers' isolation)."""

    def __init__(self, door: object) -> None:
        self.door = door

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        return self.door(posts)  # type: ignore[operator,no-any-return]

    def deletions(self, deletions: Sequence[Deletion]) -> list[Deletion]:
        raise RuntimeError("cannot key deletions")

    def warm_up(self) -> None:
        pass


def test_a_batch_failing_outside_the_enrichers_ends_in_the_dead_stream(
    cluster_settings: Settings,
) -> None:
    post = numbered_posts(1)[0]
    assert isinstance(post, Post)
    run_collector(cluster_settings, [ListSource([post, Deletion("test:other", post.created_at)])])
    door = _BrokenDeletions(build_door(cluster_settings, mark_duplicates=False))
    worker = DoorWorker(cluster_settings, "d", door=door)  # type: ignore[arg-type]
    worker.prepare()
    with active_writer(cluster_settings) as writer:
        for _ in range(cluster_settings.cluster.max_attempts):
            worker._claimed_at = 0.0
            worker.step()
            time.sleep(cluster_settings.cluster.claim_idle_s + 0.05)
        worker._claimed_at = 0.0
        worker.step()
        drain([worker], writer)
        broker = worker.broker
        assert broker.redis.xlen(broker.dead) == 2
        assert broker.redis.xpending(broker.items, "door")["pending"] == 0
        # Both entries are done: their lane's watermark went past them.
        with writer.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT watermark FROM cluster_lanes")).scalar() == 2
    worker.broker.close()


def test_sources_of_one_name_get_lanes_of_their_own(cluster_settings: Settings) -> None:
    sources = [
        ListSource(numbered_posts(4, "feed-a"), name="rss"),
        ListSource(numbered_posts(6, "feed-b", first=100), name="rss"),
    ]
    run_collector(cluster_settings, sources)
    with door_workers(cluster_settings, "d") as doors, active_writer(cluster_settings) as w:
        drain(doors, w)
        assert cursors(w.engine) == {"feed-a": "4", "feed-b": "105"}
        assert len(stored_numbers(w.engine)) == 10
        with w.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM cluster_lanes")).scalar() == 2


def test_the_collector_waits_while_the_stages_behind_are_full(cluster_settings: Settings) -> None:
    cluster = cluster_settings.cluster.model_copy(update={"max_backlog": 100, "batch": 20})
    settings = cluster_settings.model_copy(update={"cluster": cluster})
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_collector(settings, [ListSource(numbered_posts(300))]).published
        )
    )
    thread.start()
    time.sleep(2.0)
    broker = Broker(cluster)
    # Nothing reads yet: the collector stopped near max_backlog, well short of 300 posts.
    assert thread.is_alive()
    assert 100 <= broker.redis.xlen(broker.items) <= 100 + 2 * cluster.batch
    with door_workers(settings, "d") as doors, active_writer(settings) as writer:
        while thread.is_alive():
            drain(doors, writer)
        thread.join(30)
        drain(doors, writer)
        assert len(stored_numbers(writer.engine)) == 300
    broker.close()


def test_health_matches_names_and_patterns(cluster_settings: Settings) -> None:
    from stadspuls.cluster.health import Heartbeat, check_health

    beat = Heartbeat(cluster_settings.cluster, "door", "door-host1-123")
    client = redis.Redis.from_url(cluster_settings.cluster.broker_url)
    beat.start(client)
    try:
        time.sleep(0.2)
        assert check_health(cluster_settings, "door", "door-host1-*")[0] is True
        assert check_health(cluster_settings, "door", "door-host1-123")[0] is True
        assert check_health(cluster_settings, "door", "door-host2-*")[0] is False
        beat.failing("broker unavailable")
        time.sleep(cluster_settings.cluster.heartbeat_s + 0.3)
        ok, lines = check_health(cluster_settings, "door", None)
        assert ok is False
        assert "UNHEALTHY" in lines[0]
        assert "broker unavailable" in lines[0]
    finally:
        beat.stop(client)
        client.close()
    assert check_health(cluster_settings, "door", None)[0] is False  # its key is gone


def test_finished_lanes_of_old_runs_are_forgotten(cluster_settings: Settings) -> None:
    engine = open_store(cluster_settings.db_url)
    old_us = 1_000_000  # 1970: untouched for long
    with engine.begin() as conn:
        for lane, state in (
            ("old-done", '{"done":[],"held":[]}'),
            ("old-gap", '{"done":[7],"held":[]}'),
        ):
            conn.execute(
                sa.text("INSERT INTO cluster_lanes VALUES (:lane, 5, :state, :us)"),
                {"lane": lane, "state": state, "us": old_us},
            )
    engine.dispose()
    with active_writer(cluster_settings) as writer:
        # The finished one is gone; the one still waiting for sequence 6 stays.
        assert set(writer.lanes) == {"old-gap"}
