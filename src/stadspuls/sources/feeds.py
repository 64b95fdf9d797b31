"""Polling of RSS, Atom and JSON feeds (news, police news, P2000 pager feeds) with conditional GET.

Each feed is polled every `interval_s` with `If-None-Match` / `If-Modified-Since`; a 304 means
nothing new. Errors back off per feed (jittered, doubling up to `backoff_cap`), never blocking
the other feeds. Each feed is a stream of its own in `stats.streams` (its state, last success,
last error, error count and next retry), and logs one warning when it starts failing, not one
per retry. The cursor per feed (`rss:{url}` or `p2000:{url}`) is a small JSON document:
the validators and the keys of the entries already emitted (bounded), so that a restart neither
re-emits the feed's current entries nor misses the ones published meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
import msgspec

from stadspuls.records import Checkpoint, Post, SourceItem, utcnow
from stadspuls.settings import FeedSettings
from stadspuls.sources import p2000, rss
from stadspuls.sources.base import Backoff, MappingError, SourceStats, merged

log = logging.getLogger(__name__)

SEEN_LIMIT = 1000  # entry keys remembered per feed; feeds show their newest 10–100 items

EntryMapper = Callable[[Mapping[str, Any], str | None, datetime | None], Post]
MAPPERS: dict[str, tuple[str, EntryMapper]] = {
    "rss": (rss.SOURCE, rss.map_rss_entry),
    "p2000": (p2000.SOURCE, p2000.map_p2000_item),
}


class FeedState(msgspec.Struct, kw_only=True):
    etag: str | None = None
    modified: str | None = None
    seen: list[str] = msgspec.field(default_factory=list)


def stream_name(feed: FeedSettings) -> str:
    return f"{MAPPERS[feed.kind][0]}:{feed.url}"


class _Feed:
    def __init__(self, source: FeedSource, feed: FeedSettings, cursor: str | None) -> None:
        self.source = source
        self.feed = feed
        self.kind, self.mapper = MAPPERS[feed.kind]
        self.stream_name = stream_name(feed)
        self.state = FeedState()
        if cursor:
            try:
                self.state = msgspec.json.decode(cursor, type=FeedState)
            except msgspec.MsgspecError:
                log.warning("%s: unreadable cursor ignored", self.stream_name)
        self.backoff = Backoff(source.backoff_base, source.backoff_cap)

    async def poll(self, client: httpx.AsyncClient) -> list[SourceItem]:
        """One conditional GET: the new posts and, when anything changed, a checkpoint."""
        stats = self.source.stats
        headers = {"User-Agent": "stadspuls (+https://github.com/stadspuls)"}
        if self.state.etag:
            headers["If-None-Match"] = self.state.etag
        if self.state.modified:
            headers["If-Modified-Since"] = self.state.modified
        response = await client.get(self.feed.url, headers=headers)
        if response.status_code == 304:
            stats.extra["feeds_not_modified"] = stats.extra.get("feeds_not_modified", 0) + 1
            return []
        response.raise_for_status()
        fetched_at = utcnow()
        title, entries = rss.parse_feed(response.content, response.headers.get("Content-Type"))
        feed_title = self.feed.name or title
        seen = set(self.state.seen)
        keys: list[str] = []
        items: list[SourceItem] = []
        for entry in reversed(entries):  # feeds list the newest first
            stats.received += 1
            try:
                key = rss.entry_key(entry)
                keys.append(key)
                if key in seen:
                    stats.skipped += 1
                    continue
                post = self.mapper(entry, feed_title, fetched_at)
            except MappingError as error:
                stats.malformed_payload(self.kind, error, entry)
                continue
            seen.add(key)
            stats.posts += 1
            items.append(post)
        current = list(dict.fromkeys(reversed(keys)))
        remembered = current + [k for k in self.state.seen if k not in set(current)]
        new_state = FeedState(
            etag=response.headers.get("ETag"),
            modified=response.headers.get("Last-Modified"),
            seen=remembered[: max(SEEN_LIMIT, len(current))],
        )
        if new_state != self.state:
            self.state = new_state
            items.append(Checkpoint(self.stream_name, msgspec.json.encode(new_state).decode()))
        return items

    async def run(
        self, client: httpx.AsyncClient, out: asyncio.Queue[SourceItem | BaseException]
    ) -> None:
        stats = self.source.stats
        status = stats.stream(self.stream_name)
        while True:
            try:
                items = await self.poll(client)
            except (httpx.HTTPError, MappingError) as error:
                stats.last_error = f"{self.stream_name}: {type(error).__name__}: {error}"
                stats.extra["feed_errors"] = stats.extra.get("feed_errors", 0) + 1
                delay = max(self.backoff.next_delay(), self.source.min_retry_s)
                status.retrying(error, delay)  # logs once, then a summary now and then
                await asyncio.sleep(delay)
                continue
            status.succeeded()
            self.backoff.reset()
            for item in items:
                await out.put(item)
            await asyncio.sleep(self.feed.interval_s)


class FeedSource:
    """All configured feeds (kind "rss" → source "rss", kind "p2000" → source "p2000")."""

    name = "feeds"

    def __init__(
        self,
        feeds: Sequence[FeedSettings],
        *,
        backoff_base: float = 30.0,
        backoff_cap: float = 3600.0,
        min_retry_s: float = 5.0,  # full jitter can draw ~0 s: never hammer a failing feed
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.feeds = list(feeds)
        self.stats = SourceStats()
        for feed in self.feeds:
            self.stats.stream(stream_name(feed))  # "connecting" until its first poll
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.min_retry_s = min_retry_s
        self.timeout = timeout
        self.transport = transport

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        feeds = [_Feed(self, feed, cursors.get(stream_name(feed))) for feed in self.feeds]
        async with httpx.AsyncClient(
            timeout=self.timeout, transport=self.transport, follow_redirects=True
        ) as client:
            async for item in merged([functools.partial(f.run, client) for f in feeds]):
                yield item
