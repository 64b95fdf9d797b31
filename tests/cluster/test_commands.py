"""The real commands as separate processes: `stadspuls worker collector | door | writer |
health`, on the test Redis and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from stadspuls.settings import Settings
from stadspuls.sources.files import iter_file
from stadspuls.store.database import open_store

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "jetstream_events.jsonl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(cluster_settings: Settings, tmp_path: Path) -> dict[str, str]:
    cluster = cluster_settings.cluster
    return {
        **os.environ,
        "STADSPULS_DB_URL": cluster_settings.db_url,
        "STADSPULS_KEY_FILE": str(cluster_settings.key_file),
        "STADSPULS_ENRICHERS": "[]",
        "STADSPULS_CLUSTER__BROKER_URL": cluster.broker_url,
        "STADSPULS_CLUSTER__STREAM_PREFIX": cluster.stream_prefix,
        "STADSPULS_CLUSTER__BLOCK_MS": "50",
        "STADSPULS_CLUSTER__HEARTBEAT_S": "0.2",
        "STADSPULS_CLUSTER__HEARTBEAT_TTL_S": "1.5",
    }


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _worker(
    env: dict[str, str], started: list[subprocess.Popen[bytes]], log: Path, *args: str
) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "stadspuls.cli", "worker", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    started.append(process)
    return process


def _health(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stadspuls.cli", "worker", "health", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _wait(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.mark.slow  # four processes start and load the door's models: ~10 s on an idle machine
def test_the_commands_store_a_recording_and_report_their_health(
    env: dict[str, str],
    processes: list[subprocess.Popen[bytes]],
    cluster_settings: Settings,
    tmp_path: Path,
) -> None:
    port = _free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    writer = _worker(env, processes, logs / "w", "writer", "--health-port", str(port))
    # One door worker: each loads the language models (seconds); two are tested in-process.
    door = _worker(env, processes, logs / "d1", "door", "--name", "d1")
    collector = _worker(env, processes, logs / "c", "collector", "--jetstream-file", str(RECORDING))
    assert collector.wait(60) == 0, (logs / "c").read_text()
    engine = open_store(cluster_settings.db_url)
    items = sum(1 for _ in iter_file(RECORDING, "jetstream"))

    def cursor_stored() -> bool:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT cursor FROM cursors")).scalar() == str(items)

    _wait(cursor_stored)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*), count(DISTINCT id) FROM posts")).one()
    engine.dispose()
    assert stored[0] == stored[1] > 0

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
        body = json.load(response)
    assert response.status == 200
    assert body["kind"] == "writer"
    assert body["state"] == "active"
    assert body["healthy"]

    check = _health(env, "door", "--name", "d1")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "door d1" in check.stdout
    assert "healthy" in check.stdout
    # A door worker killed outright: its heartbeat expires and the check fails.
    door.send_signal(signal.SIGKILL)
    door.wait(10)
    client = redis.Redis.from_url(cluster_settings.cluster.broker_url)
    key = f"{cluster_settings.cluster.stream_prefix}:hb:door:d1"
    _wait(lambda: not client.exists(key), timeout=10)
    client.close()
    assert _health(env, "door", "--name", "d1").returncode == 1
    alive = _health(env, "writer")
    assert alive.returncode == 0, alive.stdout
    # SIGTERM: the writer finishes its batch and exits cleanly, removing its heartbeat.
    writer.send_signal(signal.SIGTERM)
    assert writer.wait(20) == 0
    failed = _health(env, "writer")
    assert failed.returncode == 1
    assert "no heartbeat of any writer" in failed.stdout
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
