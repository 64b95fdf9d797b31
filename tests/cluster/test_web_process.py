"""`stadspuls worker web`: replicas of the web app alone share what a user sees through the
database (a session begun on one is valid on the other; failed logins count across them), take
the client's address from a trusted proxy, write a heartbeat and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from stadspuls.store.database import open_store
from tests.support.login import PASSWORD, add_user, csrf_of

WORKER = [sys.executable, "-m", "stadspuls.cli", "worker"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _login(client: httpx.Client, base: str, username: str, password: str, via: str) -> int:
    page = client.get(f"{base}/login")
    data = {"username": username, "password": password, "csrf": csrf_of(page.text)}
    answer = client.post(f"{base}/login", data=data, headers={"X-Forwarded-For": via})
    return answer.status_code


def test_two_web_replicas_behind_a_proxy_share_sessions_and_login_limits(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    engine = open_store(db_url)
    add_user(engine, "anna")
    add_user(engine, "bert")
    engine.dispose()
    redis_url = os.environ.get("STADSPULS_TEST_REDIS_URL")
    env = {
        **os.environ,
        "STADSPULS_KEY_FILE": str(tmp_path / "secrets" / "pseudonym.key"),
        "STADSPULS_WEB__LOGIN_MAX_FAILURES": "2",
        "STADSPULS_CLUSTER__BROKER_URL": redis_url or "redis://127.0.0.1:1/0",
        "STADSPULS_CLUSTER__STREAM_PREFIX": f"t{uuid.uuid4().hex[:12]}",
        "STADSPULS_CLUSTER__HEARTBEAT_S": "0.2",
        "STADSPULS_CLUSTER__HEARTBEAT_TTL_S": "2",
    }
    ports = [_free_port(), _free_port()]
    replicas = []
    for n, port in enumerate(ports):
        # The proxy is this test, on 127.0.0.1: its X-Forwarded-For is believed.
        command = [*WORKER, "web", "--db", db_url, "--port", str(port), "--name", f"web-{n}"]
        command += ["--forwarded-allow-ips", "127.0.0.1"]
        with (tmp_path / f"web-{n}.log").open("wb") as log:
            replicas.append(subprocess.Popen(command, env=env, stderr=log))
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    try:
        with httpx.Client(timeout=10) as client:
            deadline = time.monotonic() + 90
            for base in (a, b):
                while True:
                    try:
                        if client.get(f"{base}/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, (tmp_path / "web-0.log").read_text()
                    time.sleep(0.2)
            # Logged in on one replica, known on the other: the session is a database row.
            assert _login(client, a, "anna", PASSWORD, via="198.51.100.1") == 303
            assert client.get(f"{b}/", follow_redirects=False).status_code == 200
        with httpx.Client(timeout=10) as stranger:
            assert stranger.get(f"{b}/", follow_redirects=False).status_code == 303
            # Two failures from one address, one on each replica, lock that address on both ...
            assert _login(stranger, a, "bert", "wrong", via="203.0.113.7") == 401
            assert _login(stranger, b, "anna", "wrong", via="203.0.113.7") == 429
            assert _login(stranger, a, "bert", PASSWORD, via="203.0.113.7") == 429
            # ... and not another address: the proxy's X-Forwarded-For is the client's address.
            assert _login(stranger, b, "bert", PASSWORD, via="203.0.113.8") == 303
        if redis_url:
            time.sleep(0.5)
            check = [*WORKER, "health", "web"]
            done = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
            assert sorted(line.split(" pid")[0] for line in done.stdout.splitlines()) == [
                "web web-0",
                "web web-1",
            ]
    finally:
        for replica in replicas:
            replica.send_signal(signal.SIGTERM)
        codes = [replica.wait(timeout=30) for replica in replicas]
    assert codes == [0, 0]
    for n in range(2):
        assert "Traceback" not in (tmp_path / f"web-{n}.log").read_text()
    if redis_url:
        check = [*WORKER, "health", "web", "--name", "web-0"]
        done = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1  # a replica that stopped removes its heartbeat


@pytest.mark.parametrize("subcommand", ["web", "consumers"])
def test_the_subcommands_say_what_they_do(subcommand: str) -> None:
    done = subprocess.run(
        [*WORKER, subcommand, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert "--health-port" in done.stdout
    assert "--config" in done.stdout
