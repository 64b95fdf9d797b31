"""Consumers of stored posts lose no work and double none, on SQLite and PostgreSQL: a consumer
that raises, one that is slow, one that keeps failing, two processes running the same consumer,
state that must match its cursor, and `kill -9` of a real `stadspuls ingest` at random moments.

The tests that check a consumer's output take the consumer as a parameter (`KINDS`): a `Kind`
says how to set the database up (monitors, rules), how to build the consumer and how to read its
output, so the detectors join these tests by adding a `Kind`.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from stadspuls import monitors, pipeline
from stadspuls.cli.main import main
from stadspuls.consumers import Consumer, Consumers, Driver, SharedReads
from stadspuls.detect.consumer import DetectorConsumer
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.query.matcher import compile_query
from stadspuls.records import Monitor, Post
from stadspuls.rollups import RollupConsumer
from stadspuls.settings import Settings
from stadspuls.store import alerts as alerts_store
from stadspuls.store import consumers as cursors
from stadspuls.store import monitors as store
from stadspuls.store.consumers import Unchanged
from stadspuls.store.database import open_store
from stadspuls.store.schema import monitor_buckets, monitor_facets
from stadspuls.store.search import iter_posts
from stadspuls.web.app import create_app
from tests.factories import IMPORT, T0, make_post

TEXTS = [
    "Uitslaande brand in een loods in Lochem",
    "Dijk bij Lochem houdt het, geen wateroverlast",
    "Drukte op Stratumseind, politie aanwezig",
    "PSV wint, feest op Stratumseind",
    "Stroomstoring in Groningen na vuurwerk",
    "Brand in fabriek in Deventer",
]

Output = list[tuple[str, ...]]


@dataclass(frozen=True)
class Kind:
    """A consumer under test: `setup` prepares the database before any post arrives, `build`
    makes the consumer (as the product's `pipeline.CONSUMERS` do), `output` reads everything it
    wrote as comparable rows, duplicates included (sorted, in terms that do not depend on pks)."""

    name: str
    setup: Callable[[sa.Engine], None]
    build: Callable[[sa.Engine], Consumer]
    output: Callable[[sa.Engine], Output]
    # The consumers it needs beside it (a detector reads what the linker linked).
    upstream: Callable[[sa.Engine], list[Consumer]] = lambda engine: []


def _monitor(name: str, query: str) -> Monitor:
    return Monitor(
        name=name,
        query=query,
        owner="team-oost",
        purpose="tests of the consumers of stored posts",
        legal_basis="public-task",
        retention_days=30,
    )


def _monitors(engine: sa.Engine) -> None:
    for name, query in [("lochem", "lochem"), ("brand", "brand OR vuurwerk"), ("stad", "stratum*")]:
        monitors.create(engine, _monitor(name, query))


def _links(engine: sa.Engine) -> Output:
    names = {m.id: m.name for m in store.list_monitors(engine)}
    with engine.connect() as conn:
        stored = cursors.posts_after(conn, 0, 1_000_000)
        links = store.links_for(conn, [pk for pk, _ in stored])
    ids = {pk: post.id for pk, post in stored}
    return sorted((names[m], ids[pk]) for pk, found in links.items() for m in found)


def _alerts(engine: sa.Engine) -> Output:
    """Every alert with every event of it, in event time (what a clean run raises)."""
    names = {m.id: m.name for m in store.list_monitors(engine)}
    out: Output = []
    for alert in alerts_store.list_alerts(engine, limit=10_000)[1]:
        assert alert.id is not None
        events = ",".join(e.kind for e in alerts_store.alert_events_of(engine, alert.id))
        out.append(
            (names[alert.monitor_id], alert.detector, alert.key, alert.opened_at.isoformat(),
             alert.updated_at.isoformat(), str(alert.triggers), f"{alert.observed:g}",
             f"{alert.expected:g}", alert.severity, events)
        )  # fmt: skip
    return sorted(out)


def _cells(engine: sa.Engine) -> Output:
    """The rollup's cells, by monitor name."""
    names = {m.id: m.name for m in store.list_monitors(engine)}
    out: Output = []
    with engine.connect() as conn:
        for table in (monitor_buckets, monitor_facets):
            for row in conn.execute(sa.select(table)):
                out.append((table.name, names[row[0]], *(str(v) for v in row[1:])))
    return sorted(out)


def _detector_kind(name: str) -> Kind:
    return Kind(
        f"detector:{name}",
        _monitors,
        lambda engine: DetectorConsumer(engine, name),
        _alerts,
        lambda engine: [monitors.MonitorLinker(engine)],
    )


KINDS = [
    Kind("linker", _monitors, monitors.MonitorLinker, _links),
    Kind(
        "rollup", _monitors, RollupConsumer, _cells, lambda engine: [monitors.MonitorLinker(engine)]
    ),
    # The detectors whose anomaly the test stream holds: a burst at a cold start, and stories.
    _detector_kind("burst"),
    _detector_kind("story"),
]


def _batches(n: int, size: int, first: int = 0) -> Iterator[list[Post]]:
    posts = [make_post(i, f"{TEXTS[i % len(TEXTS)]} #{i}") for i in range(first, first + n)]
    for start in range(0, n, size):
        yield posts[start : start + size]


def _store(settings: Settings, engine: sa.Engine, batches: Iterator[list[Post]],
           on_commit: Callable[[], None] | None = None) -> None:  # fmt: skip
    pipeline = Pipeline(engine, build_door(settings), on_commit=on_commit)
    for batch in batches:
        pipeline.process(batch)
    pipeline.close()


def _clean_output(settings: Settings, kind: Kind, tmp_path: Path, n: int) -> Output:
    """What the consumer writes when nothing goes wrong: one run, on a fresh SQLite database."""
    engine = open_store(f"sqlite:///{tmp_path / 'clean.db'}")
    kind.setup(engine)
    with Consumers(engine, [*kind.upstream(engine), kind.build(engine)], poll_s=0.05) as running:
        _store(settings, engine, _batches(n, 25), running.wake)
        assert running.drain()
    found = kind.output(engine)
    engine.dispose()
    return found


class FailsOnce:
    """Writes the wrapped consumer's output, then raises: the first time only (or `times`)."""

    def __init__(self, inner: Consumer, times: int = 1) -> None:
        self.inner = inner
        self.name = inner.name
        self.upstream = inner.upstream
        self.left = times

    def load(self, state: bytes | None) -> None:
        self.inner.load(state)

    def consume(
        self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]
    ) -> bytes | Unchanged | None:
        state = self.inner.consume(conn, rows)
        if self.left:
            self.left -= 1
            raise RuntimeError("consumer failed after writing its output")
        return state


def _status(engine: sa.Engine, name: str) -> cursors.ConsumerStatus:
    return next(s for s in cursors.consumer_statuses(engine) if s.name == name)


# The short stream of these tests (a post a minute) holds stories but no burst.
@pytest.mark.parametrize(
    "kind", [k for k in KINDS if k.name != "detector:burst"], ids=lambda k: k.name
)
def test_a_consumer_that_raises_on_its_first_try_writes_everything_once(
    settings: Settings, engine: sa.Engine, tmp_path: Path, kind: Kind
) -> None:
    expected = _clean_output(settings, kind, tmp_path, 60)
    assert expected  # the posts do give the consumer something to write
    kind.setup(engine)
    consumer = FailsOnce(kind.build(engine))
    group = [*kind.upstream(engine), consumer]
    with Consumers(engine, group, poll_s=0.05, backoff_s=0.01) as running:
        _store(settings, engine, _batches(60, 25), running.wake)
        assert running.drain()
    assert consumer.left == 0
    assert kind.output(engine) == expected
    status = _status(engine, kind.name)
    assert (status.failures, status.lag) == (1, 0)
    assert status.last_error == "RuntimeError: consumer failed after writing its output"


class Slow:
    """A consumer that holds every chunk until released (it computes; it has not written)."""

    name = "slow"
    upstream: str | None = None

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.seen = 0

    def load(self, state: bytes | None) -> None:
        pass

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> bytes | None:
        self.entered.set()
        assert self.release.wait(30)
        self.seen += len(rows)
        return None


def _wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_slow_consumer_blocks_neither_storing_nor_the_linker(
    settings: Settings, engine: sa.Engine, tmp_path: Path
) -> None:
    expected = _clean_output(settings, KINDS[0], tmp_path, 60)
    _monitors(engine)
    slow = Slow()
    with Consumers(engine, [monitors.MonitorLinker(engine), slow], poll_s=0.05) as running:
        batches = _batches(60, 20)
        _store(settings, engine, iter([next(batches)]), running.wake)
        assert slow.entered.wait(10)
        started = time.monotonic()
        _store(settings, engine, batches, running.wake)  # while the slow one holds its chunk
        assert time.monotonic() - started < 10
        with engine.connect() as conn:
            newest = cursors.max_pk(conn)
        _wait_for(lambda: _status(engine, "linker").last_pk == newest)
        assert not slow.release.is_set()
        assert _links(engine) == expected
        assert _status(engine, "slow").last_pk < newest
        slow.release.set()
        assert running.drain()
    assert slow.seen == 60
    assert _status(engine, "slow").lag == 0


class Broken:
    name = "broken"
    upstream: str | None = None

    def load(self, state: bytes | None) -> None:
        pass

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> bytes | None:
        raise ValueError("this consumer cannot read these posts")


def test_a_consumer_that_keeps_failing_is_reported_and_holds_up_no_one(
    settings: Settings, engine: sa.Engine, tmp_path: Path
) -> None:
    expected = _clean_output(settings, KINDS[0], tmp_path, 30)
    _monitors(engine)
    with Consumers(
        engine, [Broken(), monitors.MonitorLinker(engine)], poll_s=0.05, backoff_s=0.01
    ) as running:
        _store(settings, engine, _batches(30, 10), running.wake)
        assert not running.drain(give_up_after=3)
        _wait_for(lambda: _status(engine, "linker").lag == 0)
        statuses = {s.name: s for s in running.statuses()}
    assert _links(engine) == expected
    broken = statuses["broken"]
    assert (broken.last_pk, broken.lag) == (0, 30)
    assert broken.failures >= 3
    assert broken.last_error == "ValueError: this consumer cannot read these posts"
    assert statuses["linker"].failures == 0


class Tally:
    """A consumer with state: how many posts it has seen and the sum of their pks. It reads only
    what the linker has linked (upstream), and fails on the chunks it is told to."""

    name = "tally"
    upstream: str | None = "linker"

    def __init__(self, fail_on: Sequence[int] = ()) -> None:
        self.fail_on = set(fail_on)
        self.calls = 0
        self.count = 0
        self.total = 0
        self.beyond_upstream = 0

    def load(self, state: bytes | None) -> None:
        self.count, self.total = json.loads(state) if state else (0, 0)

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> bytes | None:
        self.calls += 1
        linked = cursors.last_pk(conn, "linker") or 0
        self.beyond_upstream += sum(pk > linked for pk, _ in rows)
        self.count += len(rows)
        self.total += sum(pk for pk, _ in rows)
        if self.calls in self.fail_on:
            raise RuntimeError(f"tally failed on chunk {self.calls}")
        return json.dumps([self.count, self.total]).encode()


def test_a_consumers_state_is_the_state_of_its_cursor_after_a_failure_and_a_restart(
    settings: Settings, engine: sa.Engine
) -> None:
    _monitors(engine)
    tally = Tally(fail_on=(2, 3))
    group: list[Consumer] = [monitors.MonitorLinker(engine), tally]
    with Consumers(engine, group, chunk=7, poll_s=0.05, backoff_s=0.01) as running:
        _store(settings, engine, _batches(40, 10), running.wake)
        assert running.drain()
    with engine.connect() as conn:
        pks = [pk for pk, _ in cursors.posts_after(conn, 0, 1000)]
    # The failed chunks' counts were rolled back with their cursor and reloaded from it.
    assert (tally.count, tally.total) == (40, sum(pks))
    assert tally.beyond_upstream == 0
    assert _status(engine, "tally").failures == 2
    # A restart loads the stored state with the cursor and goes on from there.
    again = Tally()
    with Consumers(engine, [monitors.MonitorLinker(engine), again], poll_s=0.05) as running:
        assert (again.count, again.total) == (40, sum(pks))
        _store(settings, engine, _batches(20, 10, first=40), running.wake)
        assert running.drain()
    with engine.connect() as conn:
        pks = [pk for pk, _ in cursors.posts_after(conn, 0, 1000)]
        state = cursors.read_cursor(conn, "tally")
    assert (again.count, again.total) == (60, sum(pks))
    assert state == (pks[-1], json.dumps([60, sum(pks)]).encode())


class TallyReloadFails(Tally):
    """Its first reload after a failure fails too (the database went away for a moment)."""

    def __init__(self) -> None:
        super().__init__(fail_on=(2,))
        self.loads = 0

    def load(self, state: bytes | None) -> None:
        self.loads += 1
        if self.loads == 2:
            raise ConnectionError("database unreachable")
        super().load(state)


def test_a_consumer_whose_reload_fails_reloads_before_it_consumes_again(
    settings: Settings, engine: sa.Engine
) -> None:
    _monitors(engine)
    tally = TallyReloadFails()
    group: list[Consumer] = [monitors.MonitorLinker(engine), tally]
    with Consumers(engine, group, chunk=7, poll_s=0.05, backoff_s=0.01) as running:
        _store(settings, engine, _batches(30, 10), running.wake)
        assert running.drain()
    with engine.connect() as conn:
        pks = [pk for pk, _ in cursors.posts_after(conn, 0, 1000)]
    assert tally.loads == 3
    assert (tally.count, tally.total) == (30, sum(pks))


def test_two_processes_running_one_consumer_count_each_post_once(
    settings: Settings, engine: sa.Engine
) -> None:
    _monitors(engine)
    first, second = Tally(), Tally()
    with (
        Consumers(engine, [monitors.MonitorLinker(engine), first], chunk=5, poll_s=0.01) as one,
        Consumers(engine, [monitors.MonitorLinker(engine), second], chunk=5, poll_s=0.01) as two,
    ):

        def wake_both() -> None:
            one.wake()
            two.wake()

        _store(settings, engine, _batches(60, 10), wake_both)
        assert one.drain()
        assert two.drain()
    with engine.connect() as conn:
        pks = [pk for pk, _ in cursors.posts_after(conn, 0, 1000)]
        state = cursors.read_cursor(conn, "tally")
    assert state is not None
    assert json.loads(state[1] or b"null") == [60, sum(pks)]
    assert _status(engine, "tally").failures == 0  # losing a race is not a failure


def test_a_new_consumer_starts_at_the_newest_post_unless_told_to_begin_at_the_start(
    settings: Settings, engine: sa.Engine
) -> None:
    _store(settings, engine, _batches(12, 12))
    now, beginning = Tally(), Tally()
    beginning.name = "tally-all"
    for consumer, start in ((now, "now"), (beginning, "beginning")):
        consumer.upstream = None
        driver = Driver(engine, consumer, start=start)  # type: ignore[arg-type]
        driver.prepare()
        while driver.step():
            pass
    assert (now.count, beginning.count) == (0, 12)


def test_the_linkers_watermark_moves_into_the_consumers_table(db_url: str) -> None:
    from stadspuls.store import migrate
    from stadspuls.store.database import create_engine

    engine = create_engine(db_url)
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO matcher_state (name, last_pk) VALUES ('monitors', 42)"))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert cursors.read_cursor(conn, "linker") == (42, None)
    assert "matcher_state" not in sa.inspect(engine).get_table_names()
    migrate.downgrade(engine, "0003")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name, last_pk FROM matcher_state")).all() == [
            ("monitors", 42)
        ]
    engine.dispose()


# kill -9 of a real `stadspuls ingest` --------------------------------------------------------

POSTS = 1200


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "STADSPULS_DB_URL": db_url,
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_DOOR_PROCESS": "false",
        "STADSPULS_ENRICHERS": "[]",
        # Small batches and chunks: many commits of the store and of the consumers to land in.
        "STADSPULS_BATCH_SIZE": "40",
        "STADSPULS_CONSUMER_CHUNK": "15",
    }


def _csv(path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at", "author", "lang"])
        for n in range(POSTS):
            created = (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
            writer.writerow([n, f"{TEXTS[n % len(TEXTS)]} ({n})", created, f"a{n % 37}", "nl"])
    return path


def _ingest(path: Path, env: dict[str, str], log: Path) -> int | None:
    """Run `stadspuls ingest` to its end; its exit status (the output goes to `log`)."""
    with log.open("ab") as out:
        return subprocess.run(
            _command(path), env=env, stdout=out, stderr=out, timeout=120
        ).returncode


def _command(path: Path) -> list[str]:
    return [sys.executable, "-m", "stadspuls.cli", "ingest", str(path), "--quiet", *IMPORT]


def _progress(engine: sa.Engine, name: str) -> tuple[int, int]:
    """(newest stored pk, the consumer's cursor) as another process sees them."""
    try:
        with engine.connect() as conn:
            return cursors.max_pk(conn), cursors.last_pk(conn, name) or 0
    except sa.exc.OperationalError:
        return 0, 0  # the schema is still being created


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_kill_9_between_the_stores_commit_and_a_consumers_loses_and_doubles_nothing(
    tmp_path: Path, db_url: str, kind: Kind
) -> None:
    data = _csv(tmp_path / "posts.csv")
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    clean = open_store(clean_url)
    kind.setup(clean)
    log = tmp_path / "ingest.log"
    assert _ingest(data, _env(tmp_path, clean_url), log) == 0, log.read_text()
    expected = kind.output(clean)
    clean.dispose()
    assert expected

    engine = open_store(db_url)
    kind.setup(engine)
    env = _env(tmp_path, db_url)
    rng = random.Random(8)
    lagging = []
    for _ in range(3):
        # Kill as soon as this many posts are stored and the consumer is behind them.
        stored_at_least = rng.randint(POSTS // 10, POSTS * 8 // 10)
        with log.open("ab") as out:
            running = subprocess.Popen(_command(data), env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while running.poll() is None and time.monotonic() < deadline:
            newest, cursor = _progress(engine, kind.name)
            if newest >= stored_at_least and cursor < newest:
                break
            time.sleep(rng.uniform(0, 0.01))
        running.send_signal(signal.SIGKILL)
        running.wait()
        newest, cursor = _progress(engine, kind.name)
        lagging.append(newest - cursor)
    # At least one kill left stored posts that the consumer had not committed yet.
    assert any(lag > 0 for lag in lagging), lagging
    assert _ingest(data, env, log) == 0, log.read_text()
    assert kind.output(engine) == expected
    assert _status(engine, kind.name).lag == 0
    engine.dispose()


def test_ingest_waits_for_its_consumers_and_names_the_one_that_keeps_failing(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broken consumer registered beside the linker, as the detectors are registered.
    monkeypatch.setattr(pipeline, "CONSUMERS", (*pipeline.CONSUMERS, lambda *_: Broken()))
    engine = open_store(settings.db_url)
    _monitors(engine)
    data = _csv(tmp_path / "posts.csv")
    runner = CliRunner()
    env = _env(tmp_path, settings.db_url)
    result = runner.invoke(main, ["ingest", str(data), "--quiet", *IMPORT], env=env)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    report = lines.index("consumers did not catch up (they resume from their cursors):")
    rows = {line.strip().split(": at post")[0]: line for line in lines[report + 1 :]}
    made = [c(engine, None, settings) for c in pipeline.CONSUMERS]
    names = [c.name for c in made if c is not None]
    assert set(rows) == set(names)
    # At least 5 failures: it keeps retrying while the others catch up (more consumers, more).
    broken = re.match(
        rf"  broken: at post 0, {POSTS} behind, (\d+) failure\(s\); last at ", rows["broken"]
    )
    assert broken is not None, rows["broken"]
    assert int(broken.group(1)) >= 5
    assert rows["broken"].endswith("Z: ValueError: this consumer cannot read these posts")
    # The others caught up: a consumer that keeps failing holds up no one.
    for name in names:
        if name != "broken":
            assert rows[name] == f"  {name}: at post {POSTS}, 0 behind"
    # Every link is there: the archive search finds what the linker linked.
    found = [
        (m.name, post.id)
        for m in store.list_monitors(engine)
        for post in iter_posts(engine, compile_query(monitors.effective_query(m)).query)
    ]
    assert _links(engine) == sorted(found)
    listed = runner.invoke(main, ["db", "consumers"], env=env)
    assert listed.exit_code == 0
    assert sorted(listed.output.splitlines()) == sorted(line.strip() for line in rows.values())
    health = TestClient(create_app(settings, engine=engine)).get("/health").json()
    assert [(c["name"], c["last_pk"], c["lag"], c["failures"]) for c in health["consumers"]] == [
        ("broken", 0, POSTS, int(broken.group(1))),
        *sorted((name, POSTS, 0, 0) for name in names if name != "broken"),
    ]
    assert health["consumers"][0]["last_error"].startswith("ValueError")
    engine.dispose()


def test_consumers_behind_one_upstream_share_one_read_of_a_chunk(
    settings: Settings, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(settings, engine, _batches(30, 30))
    calls: list[tuple[int, int | None]] = []
    real = cursors.posts_after

    def counted(
        conn: sa.Connection, after: int, limit: int, *, upto_pk: int | None = None
    ) -> list[tuple[int, Post]]:
        calls.append((after, upto_pk))
        time.sleep(0.05)  # a read in flight while the other consumers ask for the same chunk
        return real(conn, after, limit, upto_pk=upto_pk)

    monkeypatch.setattr(cursors, "posts_after", counted)
    reads = SharedReads()
    results: list[list[tuple[int, Post]]] = []

    def read() -> None:
        with engine.connect() as conn:
            results.append(reads.read(conn, 0, 100, 30))

    threads = [threading.Thread(target=read) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [(0, 30)]
    assert len(results) == 5
    assert all(rows is results[0] for rows in results)
    assert [pk for pk, _ in results[0]] == list(range(1, 31))
    with engine.connect() as conn:
        assert reads.read(conn, 10, 100, 30) == results[0][10:]  # another range: read anew
    assert calls == [(0, 30), (10, 30)]
