"""A real Stadspuls for the browser tests: `stadspuls run` as a subprocess on a free port with a
store of its own (the consumers, the live stream and every page are the real ones), users made
with `stadspuls user add`, posts stored by `stadspuls ingest` from another process, and Debian's
chromium driven by Playwright (`executable_path`, never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import IMPORT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dashboard:
    """The running server and the commands that work on its store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{root / 'stadspuls.db'}"
        self.env = {
            **os.environ,
            "STADSPULS_KEY_FILE": str(root / "pseudonym.key"),
            # Places and sentiment for the map and the negative share; no crisis models (slow
            # to load, and no page here needs them). The door runs in-process: one less start.
            "STADSPULS_ENRICHERS": '["places", "sentiment"]',
            "STADSPULS_DOOR_PROCESS": "false",
        }
        self.log = root / "server.log"
        self.server: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "stadspuls.cli", *args, "--db", self.db],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"stadspuls {' '.join(args)}: {done.stderr}"
        return done.stdout

    def add_user(self, name: str, role: str) -> None:
        self.cli("user", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")

    def ingest(self, recording: Path) -> None:
        self.cli("ingest", str(recording), "--quiet", *IMPORT)

    def start(self) -> None:
        command = [sys.executable, "-m", "stadspuls.cli", "run", "--no-collect"]
        command += ["--port", str(self.port), "--db", self.db]
        with self.log.open("wb") as log:
            self.server = subprocess.Popen(
                command, env=self.env, stderr=log, stdout=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.server.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)


def _chromium() -> Path:
    """Debian's chromium, or a skip that says why (scripts/install-chromium.sh installs it)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing and could not be installed: run scripts/install-chromium.sh"
            " as root (apt-get install --no-install-recommends chromium)"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    _chromium()
    running = Dashboard(tmp_path_factory.mktemp("dashboard"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where each page's screenshot goes (gitignored); emptied once per run."""
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS
