"""FeedSource against a real HTTP server on loopback: conditional GET (ETag → 304), per-feed
back-off on errors, and a restart from the stored cursor that neither repeats nor misses."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stadspuls.records import Checkpoint, Post, SourceItem
from stadspuls.settings import FeedSettings
from stadspuls.sources.feeds import FeedSource
from tests.support.feed_server import FeedServer
from tests.support.http import serve
from tests.support.streams import collect_until, collect_while_waiting, post_ids

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
NEW_ITEM = b"""    <item>
      <title>Gaslek in centrum Deventer, omgeving afgezet</title>
      <link>https://nieuws.example/artikel/2002-gaslek</link>
      <guid isPermaLink="false">nieuws-2002</guid>
      <pubDate>Sat, 23 Nov 2024 15:40:00 +0100</pubDate>
      <description>Bewoners van de Brink moeten hun huis uit.</description>
    </item>
"""


def with_new_item(document: bytes) -> bytes:
    return document.replace(b"    <item>", NEW_ITEM + b"    <item>", 1)


def feeds(url: str) -> list[FeedSettings]:
    return [
        FeedSettings(url=f"{url}/feeds/news", name="Nieuws", interval_s=0.02),
        FeedSettings(url=f"{url}/feeds/p2000", kind="p2000", interval_s=0.02),
    ]


def count_polls(server: FeedServer, name: str, status: int) -> int:
    return sum(1 for n, s, _ in server.requests if n == name and s == status)


def test_conditional_get_backoff_and_restart() -> None:
    server = FeedServer()
    news = (FIXTURES / "rss_news.xml").read_bytes()
    server.documents["news"] = news
    server.documents["p2000"] = (FIXTURES / "p2000_feed.xml").read_bytes()
    server.failures["p2000"] = 2  # the pager feed is down at first: it backs off, alone

    async def scenario() -> tuple[list[SourceItem], list[SourceItem], list[SourceItem]]:
        async with serve(server.app) as url:

            def src() -> FeedSource:
                return FeedSource(feeds(url), backoff_base=0.01, backoff_cap=0.05, min_retry_s=0)

            # 1. first polls: 2 news items, and the 6 pager messages once the feed is back
            first = await collect_until(
                src().stream({}),
                lambda items: (
                    len(post_ids(items)) == 8
                    and len({i.stream for i in items if isinstance(i, Checkpoint)}) == 2
                ),
            )
            cursors = {i.stream: i.cursor for i in first if isinstance(i, Checkpoint)}
            # 2. a restart with nothing new: conditional GETs answered 304, no post again
            seen = {name: count_polls(server, name, 304) for name in ("news", "p2000")}
            quiet = await collect_while_waiting(
                src().stream(cursors),
                lambda: all(count_polls(server, n, 304) >= seen[n] + 2 for n in seen),
            )
            # 3. news published while the source was down arrives after the restart, alone
            server.documents["news"] = with_new_item(news)
            later = await collect_until(
                src().stream(cursors), lambda items: len(post_ids(items)) >= 1
            )
            return first, quiet, later

    first, quiet, later = asyncio.run(scenario())
    assert quiet == []
    first_posts = [i for i in first if isinstance(i, Post)]
    assert len(first_posts) == len(post_ids(first_posts)) == 8  # nothing twice
    assert {p.source for p in first_posts} == {"rss", "p2000"}
    assert count_polls(server, "p2000", 500) == 2
    revalidations = [h for n, s, h in server.requests if n == "news" and s == 304]
    assert all(h["if-none-match"].startswith('"') for h in revalidations)
    assert post_ids(later) == {"rss:nieuws-2002"}
    # the checkpoint of a feed follows its posts
    news_checkpoints = [
        i
        for i, item in enumerate(first)
        if isinstance(item, Checkpoint) and item.stream[:4] == "rss:"
    ]
    news_before = [
        i for i in first[: news_checkpoints[-1]] if isinstance(i, Post) and i.source == "rss"
    ]
    assert len(news_before) == 2
