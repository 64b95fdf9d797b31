"""Per-stream status from the collector to the `source_status` table, and from there to
`stadspuls sources list` (another process) and `/health`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from stadspuls.cli.main import main
from stadspuls.cli.run import Collector, StatusWriter, Tracked
from stadspuls.settings import FeedSettings, Settings
from stadspuls.sources.feeds import FeedSource
from stadspuls.sources.status import StatusRow
from stadspuls.store.database import open_store
from stadspuls.store.status import load_status, save_status
from stadspuls.web.app import create_app
from tests.support.feed_server import FeedServer
from tests.support.http import serve
from tests.support.streams import collect_while_waiting

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
BROKEN = [f"broken{n}" for n in range(16)]


def collect_with_broken_feeds(engine: sa.Engine) -> tuple[list[FeedSettings], StatusWriter]:
    server = FeedServer()
    server.documents["good"] = (FIXTURES / "rss_news.xml").read_bytes()
    for name in BROKEN:
        server.documents[name] = b""
        server.failures[name] = 10**9

    async def scenario() -> tuple[list[FeedSettings], StatusWriter]:
        async with serve(server.app) as url:
            feeds = [
                FeedSettings(url=f"{url}/feeds/{name}", name=name, interval_s=0.02)
                for name in ["good", *BROKEN]
            ]
            source = FeedSource(feeds, backoff_base=0.001, backoff_cap=0.005, min_retry_s=0)
            collector = Collector([Tracked(source)])
            writer = StatusWriter(engine, collector, interval_s=0.05)
            writing = asyncio.create_task(writer.run())
            try:
                await collect_while_waiting(
                    source.stream({}),
                    lambda: sum(s.error_count >= 3 for s in source.stats.streams.values()) == 16,
                )
            finally:
                writing.cancel()
            writer.flush(everything=True)
            return feeds, writer

    return asyncio.run(scenario())


def test_broken_feeds_are_listed_one_by_one(settings: Settings, tmp_path: Path) -> None:
    engine = open_store(settings.db_url)
    feeds, writer = collect_with_broken_feeds(engine)
    assert writer.flush(everything=True) == 0  # nothing changed since: nothing written
    rows = {row.source: row for row in load_status(engine)}
    assert len(rows) == 17
    assert sum(row.state == "retrying" for row in rows.values()) == 16
    env = {
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": json.dumps([f.model_dump() for f in feeds]),
    }
    listed = CliRunner().invoke(main, ["sources", "list", "--db", settings.db_url], env=env)
    assert listed.exit_code == 0, listed.output
    out = listed.output
    assert out.count("state retrying, last success never") == 16
    assert out.count("state running, last success 20") == 1
    assert out.count("next retry 20") == 16
    assert out.count("HTTPStatusError: Server error '500 Internal Server Error'") == 16
    assert "16 of 17 stream(s) failing" in out
    # /health of an API that does not collect itself shows what the collector stored
    client = TestClient(create_app(settings, engine=engine))
    streams = client.get("/health").json()["streams"]
    assert len(streams) == 17
    assert sorted({s["state"] for s in streams}) == ["retrying", "running"]
    retrying = [s for s in streams if s["state"] == "retrying"]
    assert all(s["error_count"] >= 3 and s["next_retry"] and s["last_error"] for s in retrying)
    engine.dispose()


def test_health_shows_the_live_streams_of_its_collector(settings: Settings) -> None:
    feeds = [FeedSettings(url=f"https://feeds.example/{n}") for n in range(3)]
    source = FeedSource(feeds)
    source.stats.stream("rss:https://feeds.example/1").retrying("ConnectError: refused", 30)
    collector = Collector([Tracked(source)])
    body = TestClient(create_app(settings, collector=collector)).get("/health").json()
    assert body["collecting"] is True
    states = {s["source"]: s["state"] for s in body["streams"]}
    assert states == {
        "rss:https://feeds.example/0": "connecting",
        "rss:https://feeds.example/1": "retrying",
        "rss:https://feeds.example/2": "connecting",
    }
    assert body["sources"]["feeds"]["received"] == 0


def test_status_rows_are_overwritten_in_place(engine: sa.Engine) -> None:
    first = StatusRow("jetstream", "connecting", None, None, None, 0, None, 1_700_000_000.0)
    save_status(engine, [first])
    later = StatusRow(
        "jetstream",
        "retrying",
        1_700_000_001.5,
        "OSError: down",
        1_700_000_002.0,
        3,
        1_700_000_060.0,
        1_700_000_002.0,
    )
    save_status(engine, [later, StatusRow("rss:x", "running", 1.0, None, None, 0, None, 1.0)])
    assert load_status(engine) == [
        later,
        StatusRow("rss:x", "running", 1.0, None, None, 0, None, 1.0),
    ]


def test_the_writer_writes_state_changes_at_once_and_other_news_sparingly(
    engine: sa.Engine,
) -> None:
    source = FeedSource([FeedSettings(url="https://feeds.example/a")])
    status = source.stats.streams["rss:https://feeds.example/a"]
    writer = StatusWriter(engine, Collector([Tracked(source)]), refresh_s=3600)
    assert writer.flush() == 1  # the first sight of a stream
    status.succeeded()
    assert writer.flush() == 1  # connecting → running
    for _ in range(100):
        status.succeeded()  # per post: nothing to write
    assert writer.flush() == 0
    status.retrying("ConnectError: refused", 30)
    assert writer.flush() == 1  # running → retrying
    status.retrying("ConnectError: refused", 60)
    assert writer.flush() == 0  # one more error: waits for the refresh
    assert load_status(engine)[0].error_count == 1
    assert writer.flush(everything=True) == 1  # at the end, everything as it is
    assert load_status(engine)[0].error_count == 2
