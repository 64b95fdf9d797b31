"""`stadspuls worker consumers`: each consumer and job under a lease, a second replica standing
by and taking over when the first dies or loses its database connection; `--only`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from stadspuls.cluster.consumers_process import ConsumersProcess
from stadspuls.cluster.health import Heartbeat
from stadspuls.cluster.leases import FileLease, Leases, PgLease, lock_key
from stadspuls.consumers import Consumers
from stadspuls.pipeline import build_consumers
from stadspuls.settings import BlueskySettings, Settings
from stadspuls.store.database import open_store
from stadspuls.store.schema import consumers as consumers_table
from stadspuls.store.schema import monitor_posts
from stadspuls.store.writer import Batch, PostWriter
from tests.factories import fire_watch, make_post

WORKER = [sys.executable, "-m", "stadspuls.cli", "worker"]
REDIS_URL_ENV = "STADSPULS_TEST_REDIS_URL"


def _settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        db_url=db_url,
        key_file=tmp_path / "secrets" / "pseudonym.key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
        consumer_poll_s=0.1,
    )


def _terminate_sessions_holding(engine: sa.Engine, key: int) -> int:
    """End the database sessions that hold the advisory lock `key` (what a lost connection,
    a restarted server or an administrator does to the holder)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    with engine.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid = :high AND objid = :low AND objsubid = 1 AND granted"
                ),
                {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF},
            ).all()
        )


def test_lock_keys_are_stable_and_distinct() -> None:
    # The key is part of the deployment's contract: replicas of different releases must agree.
    assert lock_key("consumer:linker") == lock_key("consumer:linker")
    assert lock_key("consumer:linker") != lock_key("job:linker")
    assert -(2**63) <= lock_key("job:alert-delivery") < 2**63


def test_a_file_lease_is_exclusive_until_released(tmp_path: Path) -> None:
    first = FileLease(tmp_path / "linker.lock", "linker")
    second = FileLease(tmp_path / "linker.lock", "linker")
    assert first.acquire()
    assert not second.acquire()
    assert first.check()
    assert not second.check()
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.postgres
def test_a_pg_lease_is_exclusive_and_lost_with_its_session(pg_url: str) -> None:
    engine = open_store(pg_url)
    leases = Leases(engine)
    first, second = leases.lease("consumer:linker"), leases.lease("consumer:linker")
    other = leases.lease("consumer:rollup")
    try:
        assert isinstance(first, PgLease)
        assert first.acquire()
        assert not second.acquire()
        assert other.acquire()  # a lock per name: replicas may share the work
        assert first.check()
        assert _terminate_sessions_holding(engine, lock_key("consumer:linker")) == 1
        assert not first.check()  # the session is gone, and the lock with it
        assert first.error is not None
        assert "lost with the connection" in first.error
        assert second.acquire()
        assert not first.acquire()
        assert first.error is None  # it reached the server again; the lock is just taken
        assert other.check()
    finally:
        for lease in (first, second, other):
            lease.release()
        leases.dispose()
        engine.dispose()


def test_only_runs_the_named_consumers_with_their_upstream_elsewhere(
    tmp_path: Path, sqlite_url: str
) -> None:
    engine = open_store(sqlite_url)
    settings = _settings(tmp_path, sqlite_url)
    group = build_consumers(settings, engine, only={"detector:burst"})
    assert [d.name for d in group.drivers] == ["detector:burst"]
    assert group.drivers[0].consumer.upstream == "linker"
    with pytest.raises(ValueError, match="no consumer named nonsense"):
        build_consumers(settings, engine, only={"nonsense"})
    # Without `only` every upstream must be in the group, as before.
    with pytest.raises(ValueError, match="no upstream"):
        Consumers(engine, [group.drivers[0].consumer])
    engine.dispose()


def test_only_rejects_an_unknown_name_in_one_line(tmp_path: Path, sqlite_url: str) -> None:
    env = {**os.environ, "STADSPULS_KEY_FILE": str(tmp_path / "key")}
    done = subprocess.run(
        [*WORKER, "consumers", "--db", sqlite_url, "--only", "linkr"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "no consumer named linkr (there are: linker," in done.stderr
    assert "Traceback" not in done.stderr


def test_two_processes_on_sqlite_share_the_work_and_one_takes_over_all(
    tmp_path: Path, sqlite_url: str
) -> None:
    engine = open_store(sqlite_url)
    settings = _settings(tmp_path, sqlite_url)

    async def both() -> tuple[list[str], list[str], list[str]]:
        first = ConsumersProcess(settings, engine, only=["linker", "retention"], check_s=0.1)
        second = ConsumersProcess(settings, engine, only=["linker", "retention"], check_s=0.1)
        stop_first, stop_second = asyncio.Event(), asyncio.Event()
        tasks = [
            asyncio.create_task(first.run(stop_first)),
            asyncio.create_task(second.run(stop_second)),
        ]
        await asyncio.sleep(0.5)
        ran = first.status()["running"], second.status()["running"]
        stop_first.set()
        await tasks[0]
        await asyncio.sleep(0.5)
        after = second.status()["running"]
        stop_second.set()
        await tasks[1]
        return ran[0], ran[1], after

    one, other, after = asyncio.run(both())
    # Each runs in exactly one process (a lease each: they may be split between the two) ...
    assert sorted(one + other) == ["linker", "retention"]
    # ... and when one process stops, the other runs everything.
    assert after == ["linker", "retention"]
    engine.dispose()


@pytest.mark.postgres
def test_a_job_stops_when_its_lease_is_lost_and_resumes_when_retaken(
    tmp_path: Path, pg_url: str
) -> None:
    engine = open_store(pg_url)
    settings = _settings(tmp_path, pg_url)

    async def scenario() -> tuple[bool, bool, bool]:
        process = ConsumersProcess(settings, engine, only=["retention"], check_s=0.1)
        await process.round()
        guarded = process.guarded["retention"]
        running_before = guarded.running is not None
        job_task = guarded.running.task if guarded.running else None
        await asyncio.to_thread(_terminate_sessions_holding, engine, lock_key("job:retention"))
        await process.round()
        stopped = job_task is not None and job_task.done() and guarded.running is None
        await process.round()  # the lock is free: this replica takes it again
        resumed = guarded.running is not None and not guarded.running.task.done()
        await process.close()
        return running_before, stopped, resumed

    running_before, stopped, resumed = asyncio.run(scenario())
    assert running_before
    assert stopped, "the job must stop as soon as its lease is lost"
    assert resumed
    engine.dispose()


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait(condition: object, timeout: float, what: str) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if callable(condition) and condition():
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.mark.postgres
def test_the_standby_replica_takes_over_when_the_first_is_killed(
    tmp_path: Path, pg_url: str, replicas: list[subprocess.Popen[bytes]]
) -> None:
    engine = open_store(pg_url)
    monitor = fire_watch(engine)
    redis_url = os.environ.get(REDIS_URL_ENV)
    env = {
        **os.environ,
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_CONSUMER_POLL_S": "0.1",
        # Heartbeats go to the test Redis when there is one (checked below), under a prefix of
        # this test's own; without one they are not written and the rest still holds.
        "STADSPULS_CLUSTER__BROKER_URL": redis_url or "redis://127.0.0.1:1/0",
        "STADSPULS_CLUSTER__STREAM_PREFIX": f"t{uuid.uuid4().hex[:12]}",
        "STADSPULS_CLUSTER__HEARTBEAT_S": "0.2",
        "STADSPULS_CLUSTER__HEARTBEAT_TTL_S": "2",
    }

    def health(name: str) -> subprocess.CompletedProcess[str]:
        check = [*WORKER, "health", "consumers", "--name", name]
        return subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)

    command = [*WORKER, "consumers", "--db", pg_url, "--only", "linker"]
    command += ["--check-every", "0.2"]
    names = ["first", "second"]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    def start(log: Path, name: str) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            replicas.append(subprocess.Popen([*command, "--name", name], env=env, stderr=out))
        return replicas[-1]

    def cursor() -> int:
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(consumers_table.c.last_pk).where(consumers_table.c.name == "linker")
            ).scalar()
        return -1 if found is None else int(found)

    def linked() -> list[int]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(monitor_posts.c.post_pk).where(monitor_posts.c.monitor_id == monitor.id)
            )
            return sorted(int(r.post_pk) for r in rows)

    def store(n: int) -> int:
        with PostWriter(engine) as writer:
            writer.write(Batch(posts=[make_post(n, f"brand in de Kerkstraat ({n})", author=None)]))
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT max(pk) FROM posts")).scalar_one())

    first = start(logs[0], names[0])
    _wait(lambda: "lease taken" in logs[0].read_text(), 60, "the first replica's lease")
    _wait(lambda: cursor() >= 0, 30, "the linker's cursor")
    second = start(logs[1], names[1])
    _wait(lambda: "standing by" in logs[1].read_text(), 60, "the second replica to start")
    one = store(1)
    _wait(lambda: cursor() >= one, 10, "the first replica to link post 1")
    time.sleep(0.5)
    assert "lease taken" not in logs[1].read_text(), "the second replica must stand by"
    if redis_url:
        active, standby = health("first"), health("second")
        assert active.returncode == 0, active.stdout + active.stderr
        assert "healthy, active" in active.stdout
        assert standby.returncode == 0, standby.stdout + standby.stderr
        assert "healthy, standby" in standby.stdout

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    two = store(2)
    took = _wait(lambda: cursor() >= two, 15, "the standby to link post 2")
    assert "consumer linker: lease taken" in logs[1].read_text()
    assert second.poll() is None
    assert linked() == [one, two]  # each post linked once, by whichever replica ran
    if redis_url:
        time.sleep(2.5)  # the killed replica's heartbeat expires with its time to live
        assert health("first").returncode == 1
        assert "healthy, active" in health("second").stdout
    second.send_signal(signal.SIGTERM)  # a clean stop: exit 0, locks and heartbeat released
    assert second.wait(timeout=60) == 0
    assert "Traceback" not in logs[1].read_text()
    if redis_url:
        assert health("second").returncode == 1
    print(f"standby linked a post {took:.2f} s after the first replica was killed")
    engine.dispose()


@pytest.mark.postgres
def test_a_standby_that_loses_the_database_says_so_in_its_heartbeat(
    tmp_path: Path, pg_url: str
) -> None:
    engine = open_store(pg_url)
    settings = _settings(tmp_path, pg_url)

    async def scenario() -> tuple[str, str, str | None, str]:
        active = ConsumersProcess(settings, engine, only=["retention"], check_s=0.1)
        beat = Heartbeat(settings.cluster, "consumers", "standby")
        standby = ConsumersProcess(
            settings, engine, only=["retention"], check_s=0.1, heartbeat=beat
        )
        await active.round()
        await standby.round()
        before = beat.snapshot()["state"]
        # The standby's session ends (a network cut, a restarted server): its next try fails.
        lease = standby.guarded["retention"].lease
        assert isinstance(lease, PgLease)
        assert lease._conn is not None
        pid = lease._conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await standby.round()
        healthy_then, error = beat.healthy(), beat.error
        await standby.round()  # it reconnects: standing by again, healthy
        after = f"{beat.snapshot()['state']} {beat.healthy()}"
        await standby.close()
        await active.close()
        return before, str(healthy_then), error, after

    before, healthy_then, error, after = asyncio.run(scenario())
    assert before == "standby"
    assert healthy_then == "False"
    assert error is not None
    assert "cannot reach the database" in error
    assert after == "standby True"
    engine.dispose()
