"""The API on a real uvicorn server on a loopback port, configured as `stadspuls run` does:
an oversized request gets an answer, not a reset connection (issue 7)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import uvicorn

from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from stadspuls.web.app import create_app
from stadspuls.web.server import MAX_REQUEST_HEAD, uvicorn_config
from tests.support.accounts import bearer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """The server's port and an analyst's credentials."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port, self.headers = port, headers


def _get(served: Served, path: str, **headers: str) -> tuple[int, str]:
    """http.client: httpx refuses URLs over 64 KB before sending them."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request("GET", path, headers={**served.headers, **headers})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def port(settings: Settings) -> Iterator[Served]:
    engine = open_store(settings.db_url)
    port = _free_port()
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield Served(port, bearer(engine))
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_the_issue_s_25000_word_phrase_gets_a_query_error(port: Served) -> None:
    """~150 KB in the request line: it reaches the app, which says what is wrong with it."""
    phrase = '"' + " ".join(f"w{i}" for i in range(25_000)) + '"'
    status, text = _get(port, "/api/posts?" + urlencode({"q": phrase}))
    assert status == 422
    assert json.loads(text) == {
        "detail": "query longer than 10,000 characters at column 10001",
        "column": 10_001,
    }


def test_a_request_line_past_the_limit_is_answered_414(port: Served) -> None:
    # h11 bounds the head it buffers while incomplete: past MAX_REQUEST_HEAD plus one read.
    status, text = _get(port, "/api/posts?q=" + "w+" * 500_000)
    assert status == 414
    assert text == f"request line longer than {MAX_REQUEST_HEAD} bytes (URI too long)\n"
    # The server goes on serving.
    assert _get(port, "/api/posts")[0] == 200


def test_headers_past_the_limit_are_answered_431(port: Served) -> None:
    filler = {f"x-filler-{n}": "x" * 50_000 for n in range(20)}
    status, text = _get(port, "/api/posts", **filler)
    assert status == 431
    assert "headers longer than" in text


def test_the_longest_query_the_language_accepts_reaches_the_app(port: Served) -> None:
    # 10,000 characters of 4-byte UTF-8, percent-encoded: 120 KB in the request line.
    status, text = _get(port, "/api/posts?" + urlencode({"q": "𝐀" * 10_000}))
    assert status == 422
    assert json.loads(text)["detail"] == "word longer than 200 characters at column 1"
