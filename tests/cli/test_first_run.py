from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from stadspuls.access import accounts
from stadspuls.access.roles import SYSTEM
from stadspuls.store.database import open_store

HINT = "stadspuls user add NAME --role admin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_once(tmp_path: Path, db: str) -> str:
    """Start `stadspuls run --no-collect`, wait until it answers, stop it; its stderr."""
    port = _free_port()
    env = {**os.environ, "STADSPULS_KEY_FILE": str(tmp_path / "key")}
    command = [sys.executable, "-m", "stadspuls.cli", "run", "--no-collect", "--port", str(port)]
    log_path = tmp_path / f"err-{port}.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([*command, "--db", db], env=env, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        assert json.load(r)["status"] == "ok"
                        break
                except OSError:
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return log_path.read_text()


def test_run_says_how_to_create_the_first_admin_until_one_exists(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    first = _serve_once(tmp_path, db)
    assert first.count(HINT) == 1
    engine = open_store(db)
    accounts.add_user(engine, SYSTEM, "root", "admin", password="a long enough password")
    engine.dispose()
    assert HINT not in _serve_once(tmp_path, db)
