from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from stadspuls.cli.main import main

RSS = (Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "rss_news.xml").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/rss":
            body, kind = RSS, "application/rss+xml"
        elif self.path == "/api/v1/instance":
            body, kind = (
                json.dumps({"uri": "mastodon.test", "title": "test"}).encode(),
                "application/json",
            )
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sources_check_reports_each_source(tmp_path: Path, local_server: str) -> None:
    closed = _closed_port()
    env = {
        "STADSPULS_BLUESKY__HOSTS": json.dumps([f"ws://127.0.0.1:{closed}"]),
        "STADSPULS_MASTODON": json.dumps([{"base_url": local_server}]),
        "STADSPULS_FEEDS": json.dumps(
            [{"url": f"{local_server}/rss", "name": "nieuws"}, {"url": f"{local_server}/gone"}]
        ),
    }
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}"]
    result = CliRunner().invoke(main, ["sources", "check", "--timeout", "3", *db], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("FAIL bluesky") for line in lines)
    assert any(line.startswith("ok   mastodon") for line in lines)
    assert any(line.startswith("ok   rss") and "HTTP 200" in line for line in lines)
    assert any(line.startswith("FAIL rss") and "HTTP 404" in line for line in lines)
    listed = CliRunner().invoke(main, ["sources", "list", *db], env=env)
    assert "nieuws" in listed.output


def test_sources_check_fails_when_nothing_answers(tmp_path: Path) -> None:
    closed = _closed_port()
    env = {
        "STADSPULS_BLUESKY__HOSTS": json.dumps([f"ws://127.0.0.1:{closed}"]),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": json.dumps([{"url": f"http://127.0.0.1:{closed}/rss"}]),
    }
    result = CliRunner().invoke(
        main,
        ["sources", "check", "--timeout", "2", "--db", f"sqlite:///{tmp_path / 's.db'}"],
        env=env,
    )
    assert result.exit_code == 1
    assert result.output.count("FAIL") == 2
