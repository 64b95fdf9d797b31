"""MastodonSource against a real HTTP server on loopback: SSE streaming, REST backfill after
every gap, polling where streaming is refused, resume from a stored cursor."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from stadspuls.records import Checkpoint, Deletion, Post, SourceItem
from stadspuls.settings import MastodonInstance
from stadspuls.sources.mastodon import MastodonSource
from tests.support.http import serve
from tests.support.mastodon_server import HOST, FakeMastodon, StreamPlan, make_status
from tests.support.streams import collect_until, has_posts, post_ids, stored_until_last_checkpoint

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "mastodon_statuses.json"


def statuses(count: int) -> list[dict[str, Any]]:
    template = json.loads(FIXTURE.read_text())[0]
    return [make_status(n, template) for n in range(1, count + 1)]


def expected_ids(items: list[dict[str, Any]]) -> set[str]:
    return {f"mastodon:{HOST}/users/anna/statuses/{s['id']}" for s in items}


def source(base_url: str, timeline: str = "public:local", **kwargs: Any) -> MastodonSource:
    instance = MastodonInstance(
        base_url=base_url, timelines=[timeline], access_token="sekrit", poll_interval_s=0.02
    )
    return MastodonSource([instance], backoff_base=0.001, backoff_cap=0.01, page_limit=4, **kwargs)


def test_streaming_with_backfill_after_each_drop() -> None:
    all_statuses = statuses(40)
    server = FakeMastodon(
        all_statuses,
        published=0,
        plans=[
            StreamPlan(streamed=5, extras=True),  # then the stream drops
            StreamPlan(silent=9, streamed=5),  # nine posted while we were away: backfilled
            StreamPlan(silent=3, streamed=18, keep_open=True),
        ],
    )

    async def scenario() -> tuple[list[SourceItem], MastodonSource]:
        async with serve(server.app) as url:
            masto = source(url)
            items = await collect_until(masto.stream({}), has_posts(expected_ids(all_statuses)))
            return items, masto

    items, masto = asyncio.run(scenario())
    assert post_ids(items) == expected_ids(all_statuses)
    assert masto.stats.malformed == 1
    assert masto.stats.reconnects >= 2
    assert server.stream_requests[0]["path"] == "/api/v1/streaming/public/local"
    assert all(r.get("local") == "true" for r in server.rest_requests)
    # every backfill after the first started from the cursor, paging forward with min_id
    assert all("min_id" in r for r in server.rest_requests[1:])
    assert set(server.authorizations) == {"Bearer sekrit"}
    # the delete event of status 2 (seen earlier) became a Deletion of its post id
    deletions = [item for item in items if isinstance(item, Deletion)]
    assert [d.id for d in deletions] == [
        f"mastodon:{HOST}/users/anna/statuses/{all_statuses[1]['id']}"
    ]
    # checkpoints name the stream, follow their posts and only go forward
    checkpoints = [item for item in items if isinstance(item, Checkpoint)]
    assert {c.stream for c in checkpoints} == {f"mastodon:{url_host(items)}:public:local"}
    cursors = [int(c.cursor) for c in checkpoints]
    assert cursors == sorted(cursors)
    assert cursors[-1] >= int(all_statuses[-2]["id"])


def url_host(items: list[SourceItem]) -> str:
    stream = next(i.stream for i in items if isinstance(i, Checkpoint))
    return stream.split(":")[1] + ":" + stream.split(":")[2]


def test_start_without_cursor_takes_the_newest_page() -> None:
    all_statuses = statuses(10)
    server = FakeMastodon(all_statuses, published=10, plans=[StreamPlan(keep_open=True)])

    async def scenario() -> list[SourceItem]:
        async with serve(server.app) as url:
            return await collect_until(
                source(url).stream({}), has_posts(expected_ids(all_statuses[-4:]))
            )

    items = asyncio.run(scenario())
    assert post_ids(items) == expected_ids(all_statuses[-4:])
    assert "min_id" not in server.rest_requests[0]


def test_polls_when_streaming_is_refused_and_resumes_from_cursor() -> None:
    all_statuses = statuses(30)
    server = FakeMastodon(all_statuses, published=3, stream_status=401, publish_per_poll=2)

    async def scenario() -> tuple[list[Post], list[SourceItem], MastodonSource]:
        async with serve(server.app) as url:
            masto = source(url, "hashtag:kerkstraat")
            first = await collect_until(masto.stream({}), lambda items: len(post_ids(items)) >= 12)
            stream = next(i.stream for i in first if isinstance(i, Checkpoint))
            stored, cursor = stored_until_last_checkpoint(first, stream)
            server.publish(7)  # posted while we were down
            again = source(url, "hashtag:kerkstraat")
            rest = await collect_until(
                again.stream({stream: cursor}),
                lambda items: expected_ids(all_statuses) <= post_ids(stored) | post_ids(items),
            )
            return stored, rest, masto

    stored, rest, masto = asyncio.run(scenario())
    assert post_ids(stored) | post_ids(rest) == expected_ids(all_statuses)
    assert masto.stats.extra["mastodon_polling_fallbacks"] == 1
    assert server.stream_requests[0] == {"path": "/api/v1/streaming/hashtag", "tag": "kerkstraat"}
    assert {r["path"] for r in server.rest_requests} == {"/api/v1/timelines/tag/kerkstraat"}
    # the restarted source asked for what followed its stored cursor
    restart = [r for r in server.rest_requests if r.get("min_id")]
    assert restart


def test_rest_keeps_posts_coming_while_the_stream_is_broken() -> None:
    all_statuses = statuses(12)
    server = FakeMastodon(all_statuses, published=2, stream_status=503, publish_per_poll=2)

    async def scenario() -> MastodonSource:
        async with serve(server.app) as url:
            masto = source(url, "public")
            await collect_until(masto.stream({}), has_posts(expected_ids(all_statuses)))
            return masto

    masto = asyncio.run(scenario())
    assert "503" in (masto.stats.last_error or "")
    (status,) = masto.stats.streams.values()
    assert status.stream.endswith(":public")
    assert status.state == "retrying"
    assert "503" in (status.last_error or "")
    assert status.error_count >= 2
    assert status.next_retry is not None
    assert "mastodon_polling_fallbacks" not in masto.stats.extra  # it keeps trying to stream
    assert len(server.stream_requests) >= 2
    assert {r["path"] for r in server.stream_requests} == {"/api/v1/streaming/public"}


def test_unknown_timeline_fails_at_start() -> None:
    with pytest.raises(ValueError, match="unknown Mastodon timeline"):
        MastodonSource([MastodonInstance(base_url="https://x.test", timelines=["home"])])
