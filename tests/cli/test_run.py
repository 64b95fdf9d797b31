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
from datetime import timedelta
from pathlib import Path

import pytest


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
    from stadspuls.cli.run import _retention_loop
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
            await asyncio.wait_for(_retention_loop(engine, settings), timeout=2)

    with caplog.at_level(logging.INFO, logger="stadspuls.store.retention"):
        asyncio.run(one_round())
    assert "retention: deleted 3 posts: 3 matched by no monitor" in capsys.readouterr().err
    assert any("deleted 3 posts" in r.getMessage() for r in caplog.records)
    assert [total for _, total, _ in retention_history(engine)] == [3]
