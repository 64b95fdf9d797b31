"""A status that federates late gets an id from its creation time, below the cursor: the
catch-up after a gap re-reads an overlap window and the status is stored exactly once, also
after a restart that re-reads statuses already stored."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import Post, SourceItem
from stadspuls.settings import MastodonInstance, Settings
from stadspuls.sources.mastodon import MastodonSource, rewound_id
from stadspuls.store.database import open_store
from stadspuls.store.schema import posts
from tests.factories import stored_id
from tests.support.http import serve
from tests.support.mastodon_server import HOST, FakeMastodon, StreamPlan, make_status
from tests.support.streams import collect_until, post_ids

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "mastodon_statuses.json"
MINUTE_MS = 60_000


def template() -> dict[str, Any]:
    first: dict[str, Any] = json.loads(FIXTURE.read_text())[0]
    return first


def late_status(before: dict[str, Any], minutes: int) -> dict[str, Any]:
    """A status created `minutes` before `before` was, with the id Mastodon gives it: its
    creation time in milliseconds << 16."""
    status = copy.deepcopy(before)
    millis = (int(before["id"]) >> 16) - minutes * MINUTE_MS
    status_id = str(millis << 16)
    status["id"] = status_id
    status["uri"] = f"https://remote.test/users/bert/statuses/{status_id}"
    status["url"] = f"https://remote.test/@bert/{status_id}"
    status["content"] = f"<p>Laat gefedereerd bericht, {minutes} minuten oud</p>"
    return status


def stored_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(posts.c.id)))


async def collect(
    engine: sa.Engine, settings: Settings, source: MastodonSource, done: Callable[[], bool]
) -> None:
    pipeline = Pipeline(engine, build_door(settings), batch_size=50, batch_seconds=0.02)
    stop = asyncio.Event()
    running = asyncio.create_task(pipeline.run([source], stop))
    try:
        async with asyncio.timeout(20):
            while not done():
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await running
        pipeline.close()


def test_a_late_federated_status_is_stored_exactly_once(settings: Settings) -> None:
    settings = settings.model_copy(update={"enrichers": []})
    timely = [make_status(n, template()) for n in range(1, 21)]
    late = [late_status(timely[0], minutes=10)]
    server = FakeMastodon(
        timely,
        plans=[
            StreamPlan(streamed=10),  # then the stream drops
            StreamPlan(late=1, silent=3, streamed=7, keep_open=True),
        ],
        late=late,
    )
    engine = open_store(settings.db_url)
    raw = {f"mastodon:{HOST}/users/anna/statuses/{s['id']}" for s in timely}
    raw.add(f"mastodon:remote.test/users/bert/statuses/{late[0]['id']}")
    expected = {stored_id(settings, r) for r in raw}  # the door keys every id

    def source(url: str) -> MastodonSource:
        instance = MastodonInstance(base_url=url, timelines=["public"], overlap_s=900)
        return MastodonSource([instance], backoff_base=0.001, backoff_cap=0.01, page_limit=4)

    async def scenario() -> int:
        async with serve(server.app) as url:
            await collect(engine, settings, source(url), lambda: len(stored_ids(engine)) >= 21)
            before_restart = len(server.rest_requests)
            # A restart from the stored cursor re-reads the overlap: all of it already stored.
            restarted = source(url)
            await collect(
                engine,
                settings,
                restarted,
                lambda: (
                    restarted.stats.skipped + restarted.stats.posts >= 21
                    and len(server.rest_requests) > before_restart + 5
                ),
            )
            return before_restart

    before_restart = asyncio.run(scenario())
    ids = stored_ids(engine)
    assert sorted(ids) == sorted(expected)  # the late one among them, each exactly once
    # The catch-up after the drop started 15 minutes before the last status seen then.
    catch_up = server.rest_requests[1]
    assert catch_up["min_id"] == rewound_id(timely[9]["id"], 900)
    # Forward-only paging from the cursor would never have asked below it.
    assert int(catch_up["min_id"]) < int(late[0]["id"]) < int(timely[9]["id"])
    # After the restart the overlap was read again and nothing was stored twice.
    assert any(
        int(r.get("min_id", "0")) < int(late[0]["id"])
        for r in server.rest_requests[before_restart:]
    )
    engine.dispose()


def test_rewound_id_is_the_snowflake_of_the_earlier_time() -> None:
    status_id = str((1_732_370_400_000 << 16) + 1234)
    assert rewound_id(status_id, 900) == str((1_732_370_400_000 - 900_000) << 16)
    assert rewound_id("12345", 900) is None  # a pre-Snowflake id: no rewind
    assert rewound_id("9xyzflake", 900) is None  # another server's opaque id


def test_polling_rereads_the_overlap_every_rescan_and_finds_a_late_status() -> None:
    timely = [make_status(n, template()) for n in range(1, 13)]
    late = [late_status(timely[0], minutes=5)]
    server = FakeMastodon(timely, published=6, stream_status=401, publish_per_poll=1, late=late)
    late_id = f"mastodon:remote.test/users/bert/statuses/{late[0]['id']}"
    expected = {f"mastodon:{HOST}/users/anna/statuses/{s['id']}" for s in timely} | {late_id}

    async def scenario() -> list[SourceItem]:
        async with serve(server.app) as url:
            instance = MastodonInstance(base_url=url, timelines=["public"], poll_interval_s=0.02)
            source = MastodonSource([instance], page_limit=4, rescan_s=0.3)

            def done(items: list[SourceItem]) -> bool:
                if len(post_ids(items)) >= 8 and not server.late_published:
                    server.late_published = 1  # federated late, while we poll
                return expected <= post_ids(items)

            return await collect_until(source.stream({}), done)

    items = asyncio.run(scenario())
    posts = [item for item in items if isinstance(item, Post)]
    assert sorted(p.id for p in posts) == sorted(expected)  # each once, the late one too
    below = [
        r for r in server.rest_requests if "min_id" in r and int(r["min_id"]) < int(late[0]["id"])
    ]
    plain = [
        r
        for r in server.rest_requests
        if "min_id" in r and int(r["min_id"]) >= int(timely[0]["id"])
    ]
    # most polls page forward only; the overlap is re-read about every 0.3 s
    assert 1 <= len(below) < len(plain)
