from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stadspuls.detect.registry import BUILTIN
from stadspuls.store.database import open_store
from stadspuls.store.monitors import monitor_post_page
from tests.factories import IMPORT, fire_watch
from tests.support.accounts import bearer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_without_internet_says_so_in_one_line_and_keeps_serving(tmp_path: Path) -> None:
    closed = _free_port()  # nothing listens here: as unreachable as the internet offline
    port = _free_port()
    env = {
        **os.environ,
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_BLUESKY__HOSTS": json.dumps([f"ws://127.0.0.1:{closed}"]),
        "STADSPULS_MASTODON": json.dumps([{"base_url": f"http://127.0.0.1:{closed}"}]),
        "STADSPULS_FEEDS": json.dumps([{"url": f"http://127.0.0.1:{closed}/rss"}]),
    }
    command = [sys.executable, "-m", "stadspuls.cli", "run", "--port", str(port)]
    command += ["--db", f"sqlite:///{tmp_path / 's.db'}"]
    with (tmp_path / "err.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stderr=log, stdout=subprocess.DEVNULL)
        try:
            health = None
            deadline = time.monotonic() + 60
            while health is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        health = json.load(r)
                except OSError:
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert health is not None, (tmp_path / "err.log").read_text()
    assert health["status"] == "ok"
    assert health["collecting"] is False
    lines = [line for line in (tmp_path / "err.log").read_text().splitlines() if "internet" in line]
    assert len(lines) == 1
    assert "no internet connection" in lines[0]


def test_the_retention_job_in_run_says_what_it_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from stadspuls.cluster.jobs import run_retention
    from stadspuls.settings import Settings
    from stadspuls.store.database import open_store
    from stadspuls.store.retention import retention_history
    from stadspuls.store.writer import Batch, PostWriter
    from tests.factories import T0, make_post

    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    old = [make_post(n, author=None, created_at=T0 - timedelta(days=400)) for n in range(3)]
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=old))
    settings = Settings(db_url=str(engine.url), retention_days=30, retention_interval_s=3600)

    async def one_round() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run_retention(engine, settings, asyncio.Event()), timeout=2)

    with caplog.at_level(logging.INFO, logger="stadspuls.store.retention"):
        asyncio.run(one_round())
    assert "retention: deleted 3 posts: 3 matched by no monitor" in capsys.readouterr().err
    assert any("deleted 3 posts" in r.getMessage() for r in caplog.records)
    assert [total for _, total, _ in retention_history(engine)] == [3]


def _light_env(tmp_path: Path) -> dict[str, str]:
    """A `stadspuls` subprocess with a key of its own and the core door in-process (fast)."""
    return {
        **os.environ,
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_ENRICHERS": "[]",
        "STADSPULS_DOOR_PROCESS": "false",
    }


def test_replay_shows_progress_says_when_it_finished_and_keeps_serving(tmp_path: Path) -> None:
    from stadspuls.sources.files import stream_name

    start = datetime(2024, 11, 23, 14, 0, tzinfo=UTC)
    times = [(start + i * timedelta(seconds=3)).isoformat() for i in range(40)]
    rows = ["id,text,created_at\n"] + [
        f"r{i},Bericht {i} over de brand in de Kerkstraat,{moment}\n"
        for i, moment in enumerate(times)
    ]
    recording = tmp_path / "recording.csv"
    recording.write_text("".join(rows))
    port = _free_port()
    env = _light_env(tmp_path)
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    watch = fire_watch(engine)
    # 40 posts 3 s apart at speed 60: about two seconds of replay.
    command = [sys.executable, "-m", "stadspuls.cli", "run", "--port", str(port)]
    command += ["--db", f"sqlite:///{tmp_path / 's.db'}", "--replay", str(recording)]
    command += ["--speed", "60", "--progress-every", "0.3"]
    err = tmp_path / "err.log"
    with err.open("wb") as log:
        server = subprocess.Popen(command, env=env, stderr=log, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while "replay finished" not in err.read_text() and time.monotonic() < deadline:
                assert server.poll() is None, err.read_text()
                time.sleep(0.1)
            # The consumers follow the writer from their own cursors: done a moment later.
            while time.monotonic() < deadline:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    health = json.load(r)
                if all(c["lag"] == 0 for c in health["consumers"]):
                    break
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    lines = err.read_text().splitlines()
    progress = [line for line in lines if line.startswith("replay: ")]
    finished = [line for line in lines if line.startswith("replay finished")]
    assert finished == [
        "replay finished: 40 posts, 40 stored (0 already stored); still serving (Ctrl-C to stop)"
    ], lines
    assert len(progress) >= 2, lines
    assert any("/40 (" in line and "posts/s" in line for line in progress), progress
    # the replay is over, the API still answers, and its stream says it has stopped
    assert health["posts"] == 40
    assert [(s["source"], s["state"]) for s in health["streams"]] == [
        (stream_name(recording, "replay"), "stopped")
    ]
    consumers = [(c["name"], c["last_pk"], c["lag"]) for c in health["consumers"]]
    names = ["linker", "rollup", *(f"detector:{name}" for name in BUILTIN), "publication-responses"]
    assert consumers == sorted((name, 40, 0) for name in names)
    assert monitor_post_page(engine, watch.id or 0)[0] == 40
    engine.dispose()


def test_run_stores_each_streams_state_for_sources_list(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Broken(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(503)

        def log_message(self, *args: object) -> None:
            pass

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    Thread(target=upstream.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{upstream.server_address[1]}"
    closed = _free_port()
    port = _free_port()
    db = f"sqlite:///{tmp_path / 's.db'}"
    env = {
        **_light_env(tmp_path),
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": json.dumps(
            [{"url": f"{base}/feed{n}", "name": f"feed{n}"} for n in range(3)]
            + [{"url": f"http://127.0.0.1:{closed}/gone", "name": "gone"}]
        ),
    }
    command = [sys.executable, "-m", "stadspuls.cli", "run", "--port", str(port), "--db", db]
    err = tmp_path / "err.log"
    with err.open("wb") as log:
        server = subprocess.Popen(command, env=env, stderr=log, stdout=subprocess.DEVNULL)
        try:
            streams: list[dict[str, object]] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        streams = json.load(r)["streams"]
                except OSError:
                    pass
                if len(streams) == 4 and all(s["state"] == "retrying" for s in streams):
                    break
                time.sleep(0.2)
            # `sources list` is another process: it reads what the collector stored (within
            # the status writer's interval of a change)
            listed = ""
            while "4 of 4" not in listed and time.monotonic() < deadline:
                listed = subprocess.run(
                    [sys.executable, "-m", "stadspuls.cli", "sources", "list", "--db", db],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
        finally:
            server.terminate()
            server.wait(timeout=30)
            upstream.shutdown()
            upstream.server_close()
    assert [s["state"] for s in streams] == ["retrying"] * 4, err.read_text()
    assert listed.count("state retrying, last success never") == 4, listed
    assert "503" in listed
    assert "ConnectError" in listed
    assert "4 of 4 stream(s) failing" in listed
    # one warning per failing feed, not one per retry
    warnings = [line for line in err.read_text().splitlines() if " WARNING " in line]
    assert len(warnings) == 4, warnings


def _wait_for_health(port: int, server: subprocess.Popen[bytes], err: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, err.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(err.read_text())


def test_a_burst_stored_by_ingest_reaches_a_running_servers_live_alert_stream(
    tmp_path: Path,
) -> None:
    """End to end: posts that `stadspuls ingest` stores are linked and seen by the detectors of
    a running `stadspuls run --no-collect`, folded into an alert and sent on /api/alerts/stream
    to a client connected before."""
    start = datetime(2024, 11, 23, 14, 0, tzinfo=UTC)
    # An hour of everyday posts (the detectors' history), then 40 about a fire in two minutes.
    rows = ["id,text,created_at,author\n"] + [
        f"q{i},Rustige middag op de markt {i},{(start + i * timedelta(minutes=2)).isoformat()},"
        f"buurt{i % 5}\n"
        for i in range(30)
    ]
    fire = start + timedelta(hours=1)
    rows += [
        f"r{i},Rook en brand bij de loods in de Kerkstraat ({i}),"
        f"{(fire + i * timedelta(seconds=3)).isoformat()},getuige{i % 9}\n"
        for i in range(40)
    ]
    recording = tmp_path / "recording.csv"
    recording.write_text("".join(rows))
    port = _free_port()
    env = _light_env(tmp_path)
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    watch = fire_watch(engine)
    command = [sys.executable, "-m", "stadspuls.cli", "run", "--port", str(port)]
    command += ["--db", f"sqlite:///{tmp_path / 's.db'}", "--no-collect"]
    err = tmp_path / "err.log"
    events: list[dict[str, object]] = []
    with err.open("wb") as log:
        server = subprocess.Popen(command, env=env, stderr=log, stdout=subprocess.DEVNULL)
        try:
            _wait_for_health(port, server, err)
            stream = urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/alerts/stream", headers=bearer(engine)
                ),
                timeout=30,
            )
            # Another process stores the posts; this server's consumers follow the store.
            ingest = [sys.executable, "-m", "stadspuls.cli", "ingest", str(recording), "--quiet"]
            ingest += ["--db", f"sqlite:///{tmp_path / 's.db'}", *IMPORT]
            subprocess.run(ingest, env=env, check=True, capture_output=True, timeout=120)
            kind = None
            deadline = time.monotonic() + 60
            for raw in stream:
                if time.monotonic() > deadline:
                    break
                line = raw.decode().strip()
                if line.startswith("event:"):
                    kind = line.partition(":")[2].strip()
                elif line.startswith("data:") and kind == "opened":
                    events.append(json.loads(line.partition(":")[2]))
                    break
            stream.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert events, err.read_text()
    alert = events[0]["alert"]
    assert isinstance(alert, dict)
    assert alert["monitor_id"] == watch.id
    assert alert["detector"] in {"burst", "story"}
    assert alert["observed"] > alert["expected"]
    engine.dispose()
