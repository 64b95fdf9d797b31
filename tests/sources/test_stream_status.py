"""Per-stream status and its logging: one warning when a stream starts failing, a summary at
most every `summary_interval_s` while it keeps failing, never one warning per retry."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from stadspuls.settings import FeedSettings
from stadspuls.sources.feeds import FeedSource, stream_name
from stadspuls.sources.status import StreamStatus
from tests.support.feed_server import FeedServer
from tests.support.http import serve
from tests.support.streams import collect_while_waiting

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("stadspuls")
    ]


def test_sixteen_broken_feeds_log_sixteen_warnings(caplog: pytest.LogCaptureFixture) -> None:
    server = FeedServer()
    server.documents["good"] = (FIXTURES / "rss_news.xml").read_bytes()
    broken = [f"broken{n}" for n in range(16)]
    for name in broken:
        server.documents[name] = b""
        server.failures[name] = 10**9  # answers 500, always

    def attempts() -> int:
        return sum(1 for name, code, _ in server.requests if code == 500)

    async def scenario() -> FeedSource:
        async with serve(server.app) as url:
            feeds = [
                FeedSettings(url=f"{url}/feeds/{name}", interval_s=0.02)
                for name in ["good", *broken]
            ]
            source = FeedSource(feeds, backoff_base=0.001, backoff_cap=0.005, min_retry_s=0)
            # Every broken feed retries at least five times.
            await collect_while_waiting(source.stream({}), lambda: attempts() >= 16 * 6)
            return source

    with caplog.at_level(logging.INFO, logger="stadspuls"):
        source = asyncio.run(scenario())
    logged = warnings(caplog)
    assert attempts() >= 96
    assert len(logged) == 16  # one per broken feed, however often it retried
    assert all("failing" in line and "HTTPStatusError" in line for line in logged)
    streams = source.stats.streams
    assert len(streams) == 17  # every feed is a stream of its own
    good = streams[stream_name(source.feeds[0])]
    assert good.state == "running"
    assert good.last_success is not None
    assert good.error_count == 0
    for feed in source.feeds[1:]:
        status = streams[stream_name(feed)]
        assert status.state == "retrying"
        assert status.error_count >= 2
        assert status.next_retry is not None
        assert "500" in (status.last_error or "")
        assert status.last_success is None


def test_a_stream_that_keeps_failing_logs_a_summary_now_and_then(
    caplog: pytest.LogCaptureFixture,
) -> None:
    status = StreamStatus("rss:https://feeds.example/down", summary_interval_s=0.1)
    with caplog.at_level(logging.INFO, logger="stadspuls"):
        started = time.monotonic()
        for _ in range(50):  # 50 failures over about half a second
            status.retrying(ConnectionError("refused"), delay_s=30)
            time.sleep(0.01)
        elapsed = time.monotonic() - started
    logged = warnings(caplog)
    assert logged[0].startswith("rss:https://feeds.example/down: failing (ConnectionError")
    summaries = logged[1:]
    assert all("still failing" in line for line in summaries)
    # one summary per 0.1 s at most, and they account for every failure in their period
    assert 1 <= len(summaries) <= elapsed / 0.1 + 1
    assert len(logged) < 50
    assert status.error_count == 50
    assert status.next_retry is not None
    assert status.next_retry > time.time() + 25
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="stadspuls"):
        status.succeeded()
        status.succeeded()
    assert status.state == "running"
    assert status.error_count == 0
    assert status.next_retry is None
    assert [r.getMessage() for r in caplog.records] == [
        "rss:https://feeds.example/down: working again after 50 error(s)"
    ]


def test_a_failing_stream_warns_again_after_it_recovered(caplog: pytest.LogCaptureFixture) -> None:
    status = StreamStatus("mastodon:mastodon.test:public")
    with caplog.at_level(logging.WARNING, logger="stadspuls"):
        status.retrying("the server ended the stream", 1.0)
        status.retrying("the server ended the stream", 1.0)
        status.succeeded()
        status.retrying("the server ended the stream", 1.0)
        status.failed("gave up")
    assert len(warnings(caplog)) == 2
    assert status.state == "failed"
    assert status.next_retry is None
    assert status.error_count == 2
