"""Mastodon (and other Mastodon-API servers): streaming over Server-Sent Events, REST polling
as the fallback and to backfill after every gap.

Post ids. A federated status has a different numeric id on every server that knows it, but one
ActivityPub `uri` everywhere. Posts are therefore keyed on the uri without its scheme
(`mastodon:mastodon.social/users/anna/statuses/1133…`), so that the same status seen through two
instances or two timelines is stored once. The numeric id of the instance we read from is used
only as the resume cursor and to resolve `delete` events and replies, which carry it; the source
keeps a bounded map from those ids to post ids (a deletion of a status seen before a restart is
therefore not resolved: it is counted as skipped).

Resuming. The cursor per stream (`mastodon:{host}:{timeline}`) is the highest status id seen.
Each time the stream is (re)connected the source first pages forward with `min_id` (which,
unlike `since_id`, returns the statuses *immediately* after the given id, so a long gap is
backfilled page by page without a hole) and only then reads the stream, whose events wait in the
socket meanwhile. While the stream is down it keeps backfilling forward at each back-off step;
where streaming is refused (401/403/404: many servers require a token) it polls every
`poll_interval_s`.

Late statuses. Mastodon ids are Snowflake-like: the creation time in milliseconds shifted left
by 16 bits. A remote status that federates late gets an id from its *creation* time, below the
cursor, so paging forward from the cursor never sees it; the streaming API does deliver it, but
not while the stream is down. So the first backfill after every gap (a reconnect, a restart;
when polling, a poll every `rescan_s`, default 5 min) starts `overlap_s` (default 15 min)
before the position where the gap began: `min_id` = the Snowflake id of (that status's time -
overlap). Statuses the source has already passed on are skipped by their local id; after a
restart the store skips them by post id. A status that arrives more than `overlap_s` after its
creation while the stream is down is still missed; a larger overlap costs more pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import msgspec

from stadspuls.records import Checkpoint, Deletion, Post, SourceItem, utc, utcnow
from stadspuls.settings import MastodonInstance
from stadspuls.sources.base import (
    Backoff,
    MappingError,
    SkippedPayload,
    SourceStats,
    declared_lang,
    merged,
    native_id,
    required,
)
from stadspuls.sources.markup import html_to_text

log = logging.getLogger(__name__)

SOURCE = "mastodon"
PAGE_LIMIT = 40  # the API's maximum page size for timelines
# Followers-only ("private") and direct statuses are not public, whoever can read them.
PUBLIC_VISIBILITY = frozenset({"public", "unlisted"})
SNOWFLAKE_SHIFT = 16  # Mastodon ids: milliseconds since the epoch << 16, plus a sequence
# Below this an id is an old sequential one (before Mastodon 2.0), not a timestamp.
SNOWFLAKE_MIN = 1 << 40


def status_post_id(status: Mapping[str, Any]) -> str:
    """The stable post id of a status: from its ActivityPub uri (or url), scheme stripped."""
    uri = status.get("uri") or status.get("url")
    if not isinstance(uri, str) or not uri:
        raise MappingError("missing required field 'uri'")
    return f"{SOURCE}:{_native(uri)}"


def _native(uri: str) -> str:
    parts = urlsplit(uri)
    bare = (
        uri[len(parts.scheme) + 3 :]
        if parts.scheme and uri.startswith(parts.scheme + "://")
        else uri
    )
    return native_id(bare)


def _full_acct(acct: str, instance_host: str | None, url: object = None) -> str:
    # `acct` is relative to the server asked: "anna" there is "anna@server". Without the
    # server's name (a file import) the profile url's host stands in for it.
    if "@" in acct:
        return acct
    host = instance_host or (urlsplit(url).hostname if isinstance(url, str) else None)
    return f"{acct}@{host}" if host else acct


def map_mastodon_status(
    status: Mapping[str, Any],
    instance_host: str | None = None,
    local_ids: Mapping[str, str] | None = None,
) -> Post:
    """Map a Status entity (as `/api/v1/timelines/*` and the streaming API return it) to a Post.

    `instance_host` is the server the status was read from (it qualifies local accts; when None
    the host of the profile url is used). `local_ids` maps that server's status ids to post
    ids, to resolve `in_reply_to_id`.

    Only public and unlisted statuses are mapped; any other (or a missing) visibility raises
    SkippedPayload.
    """
    if not isinstance(status, Mapping):
        raise MappingError("expected a status object")
    visibility = status.get("visibility")
    if visibility not in PUBLIC_VISIBILITY:
        raise SkippedPayload(f"visibility {visibility if isinstance(visibility, str) else None}")
    required(status, "id")
    post_id = status_post_id(status)
    created_at = _datetime(required(status, "created_at"), "created_at")
    account = required(status, "account")
    acct = required(account, "acct", "account.")
    reblog = status.get("reblog")
    repost_of = None
    shown = status
    if isinstance(reblog, Mapping):
        repost_of = status_post_id(reblog)
        shown = reblog  # a boost has no content of its own: it repeats the original's
    content = shown.get("content")
    if not isinstance(content, str):
        raise MappingError("missing required field 'content'")
    text = html_to_text(content)
    spoiler = shown.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}" if text else spoiler.strip()
    reply_to = None
    parent = status.get("in_reply_to_id")
    if parent is not None and local_ids is not None:
        reply_to = local_ids.get(str(parent))
    url = status.get("url") or shown.get("url") or status.get("uri")
    return Post(
        id=post_id,
        source=SOURCE,
        native_id=post_id[len(SOURCE) + 1 :],
        created_at=created_at,
        text=text,
        author=_full_acct(str(acct), instance_host, account.get("url")),
        url=url if isinstance(url, str) else None,
        lang_declared=declared_lang(shown.get("language")),
        hashtags=tuple(
            str(tag["name"])
            for tag in shown.get("tags") or ()
            if isinstance(tag, Mapping) and tag.get("name")
        ),
        mentions=tuple(
            _full_acct(str(m["acct"]), instance_host, m.get("url"))
            for m in shown.get("mentions") or ()
            if isinstance(m, Mapping) and m.get("acct")
        ),
        links=_card_link(shown.get("card")),
        media=tuple(
            str(a.get("url") or a.get("remote_url"))
            for a in shown.get("media_attachments") or ()
            if isinstance(a, Mapping) and (a.get("url") or a.get("remote_url"))
        ),
        reply_to=reply_to,
        repost_of=repost_of,
    )


def _card_link(card: object) -> tuple[str, ...]:
    url = card.get("url") if isinstance(card, Mapping) else None
    return (url,) if isinstance(url, str) and url else ()


def _datetime(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise MappingError(f"missing required field {field!r}")
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError as error:
        raise MappingError(f"field {field!r} is not an ISO 8601 time: {value!r}") from error


def id_key(status_id: str) -> tuple[int, str]:
    """Order of status ids: numeric strings (Snowflake-like) by length, then lexicographically."""
    return (len(status_id), status_id)


def rewound_id(status_id: str, seconds: float) -> str | None:
    """The lowest Snowflake id of statuses created `seconds` before status `status_id` was;
    None when the id is not a Snowflake (another server software, or a pre-2.0 Mastodon id)."""
    if not status_id.isdigit() or int(status_id) < SNOWFLAKE_MIN:
        return None
    millis = (int(status_id) >> SNOWFLAKE_SHIFT) - int(seconds * 1000)
    return str(max(0, millis) << SNOWFLAKE_SHIFT)


def stream_name(instance: MastodonInstance, timeline: str) -> str:
    """The name of one (instance, timeline) stream: its cursor's key and its status row."""
    return f"{SOURCE}:{urlsplit(instance.base_url.rstrip('/')).netloc}:{timeline}"


class _Unauthorised(Exception):
    """Streaming refused (401/403/404): poll instead."""


class _LocalIds:
    """Bounded map from one server's status ids to post ids (for deletions and replies)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.ids: OrderedDict[str, str] = OrderedDict()

    def add(self, local_id: str, post_id: str) -> None:
        self.ids[local_id] = post_id
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)

    def get(self, local_id: str) -> str | None:
        return self.ids.get(local_id)


def timeline_paths(timeline: str) -> tuple[str, dict[str, str], str, dict[str, str]]:
    """(streaming path, streaming params, REST path, REST params) of a configured timeline."""
    if timeline == "public":
        return "/api/v1/streaming/public", {}, "/api/v1/timelines/public", {}
    if timeline == "public:local":
        return (
            "/api/v1/streaming/public/local",
            {},
            "/api/v1/timelines/public",
            {"local": "true"},
        )
    if timeline.startswith("hashtag:") and len(timeline) > len("hashtag:"):
        tag = timeline.split(":", 1)[1].lstrip("#")
        return (
            "/api/v1/streaming/hashtag",
            {"tag": tag},
            f"/api/v1/timelines/tag/{quote(tag, safe='')}",
            {},
        )
    raise ValueError(
        f"unknown Mastodon timeline {timeline!r}: use public, public:local or hashtag:<tag>"
    )


class _Timeline:
    """One (instance, timeline) stream: backfill via REST, then stream, and again after a gap."""

    def __init__(
        self,
        source: MastodonSource,
        instance: MastodonInstance,
        timeline: str,
        cursor: str | None,
        local_ids: _LocalIds,
    ) -> None:
        self.source = source
        self.instance = instance
        self.base_url = instance.base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.timeline = timeline
        self.stream_name = stream_name(instance, timeline)
        self.stream_path, self.stream_params, self.rest_path, self.rest_params = timeline_paths(
            timeline
        )
        self.cursor = cursor
        # Where the current gap began (the cursor when the stream was last known complete); the
        # next catch-up re-reads `overlap_s` before it. A stored cursor means a restart: a gap.
        self.gap_from = cursor
        self.rescanned_at = -math.inf  # when polling re-read the overlap last (monotonic)
        self.local_ids = local_ids
        self.streaming = source.streaming
        self.backoff = Backoff(source.backoff_base, source.backoff_cap)
        headers = {"User-Agent": "stadspuls (+https://github.com/stadspuls)"}
        if instance.access_token:
            headers["Authorization"] = f"Bearer {instance.access_token}"
        self.headers = headers

    async def run(
        self, client: httpx.AsyncClient, out: asyncio.Queue[SourceItem | BaseException]
    ) -> None:
        stats = self.source.stats
        status = stats.stream(self.stream_name)
        first = True
        while True:
            try:
                if self.streaming:
                    if not first:
                        stats.reconnects += 1
                    first = False
                    status.connecting()
                    await self.listen(client, out)  # catches up once connected
                    stats.last_error = f"{self.stream_name}: stream ended"
                    self.stream_down()
                    delay = self.backoff.next_delay()
                    status.retrying("the server ended the stream", delay)
                    await asyncio.sleep(delay)
                else:
                    # Polling is one long gap: a poll pages forward, and every `rescan_s` one
                    # also re-reads the overlap before the cursor of the previous re-read.
                    self.stream_down()
                    rescan = time.monotonic() - self.rescanned_at >= self.source.rescan_s
                    await self.backfill(client, out, catch_up=rescan)
                    if rescan:
                        self.rescanned_at = time.monotonic()
                    status.succeeded()
                    self.backoff.reset()
                    await asyncio.sleep(self.instance.poll_interval_s)
            except _Unauthorised as error:
                log.info("%s: streaming refused (%s); polling instead", self.stream_name, error)
                stats.extra["mastodon_polling_fallbacks"] = (
                    stats.extra.get("mastodon_polling_fallbacks", 0) + 1
                )
                self.streaming = False
            except (httpx.HTTPError, MappingError) as error:
                stats.last_error = f"{self.stream_name}: {type(error).__name__}: {error}"
                self.stream_down()
                delay = self.backoff.next_delay()
                status.retrying(error, delay)
                if self.streaming:
                    # The stream is down but the REST API may not be: poll while backing off
                    # (forward only; the overlap is re-read once the stream is back).
                    with contextlib.suppress(httpx.HTTPError, MappingError):
                        await self.backfill(client, out)
                await asyncio.sleep(delay)

    def stream_down(self) -> None:
        """A gap begins at the current cursor (unless an earlier one is still open)."""
        if self.gap_from is None:
            self.gap_from = self.cursor

    async def emit(
        self, status: Mapping[str, Any], out: asyncio.Queue[SourceItem | BaseException]
    ) -> None:
        stats = self.source.stats
        stats.received += 1
        local = str(status.get("id", ""))
        if local and self.local_ids.get(local) is not None:
            stats.skipped += 1  # re-read by a catch-up's overlap, or seen on another timeline
        else:
            await self._emit_post(status, local, out)
        if local and (self.cursor is None or id_key(local) > id_key(self.cursor)):
            self.cursor = local
            await out.put(Checkpoint(self.stream_name, local))

    async def _emit_post(
        self, status: Mapping[str, Any], local: str, out: asyncio.Queue[SourceItem | BaseException]
    ) -> None:
        stats = self.source.stats
        try:
            post = map_mastodon_status(status, self.host, self.local_ids.ids)
        except SkippedPayload as skipped:
            stats.skipped_payload(skipped)
        except MappingError as error:
            stats.malformed_payload(SOURCE, error, status)
        else:
            self.local_ids.add(local, post.id)
            stats.posts += 1
            await out.put(post)

    async def backfill(
        self,
        client: httpx.AsyncClient,
        out: asyncio.Queue[SourceItem | BaseException],
        *,
        catch_up: bool = False,
    ) -> None:
        """Fetch what is new since the cursor, oldest page first, page by page. A `catch_up`
        (after a gap) starts `overlap_s` before the gap began, for late-federated statuses."""
        position = self.cursor
        if catch_up and self.gap_from is not None:
            rewound = rewound_id(self.gap_from, self.instance.overlap_s)
            if rewound is not None and (position is None or id_key(rewound) < id_key(position)):
                position = rewound
        while True:
            limit = self.source.page_limit
            params = {**self.rest_params, "limit": str(limit)}
            if position is not None:
                params["min_id"] = position
            response = await client.get(
                self.base_url + self.rest_path, params=params, headers=self.headers
            )
            response.raise_for_status()
            page = response.json()
            if not isinstance(page, list):
                raise MappingError("timeline response is not a list of statuses")
            statuses = [s for s in page if isinstance(s, Mapping) and s.get("id") is not None]
            statuses.sort(key=lambda s: id_key(str(s["id"])))
            for status in statuses:
                await self.emit(status, out)
            # Without a cursor, the newest page is the start; with one, page forward until a
            # page is not full.
            if "min_id" not in params or len(page) < limit or not statuses:
                if catch_up:
                    self.gap_from = None
                return
            position = str(statuses[-1]["id"])

    async def listen(
        self, client: httpx.AsyncClient, out: asyncio.Queue[SourceItem | BaseException]
    ) -> None:
        """Read the SSE stream until it ends or fails (then the caller backfills the gap)."""
        stats = self.source.stats
        async with client.stream(
            "GET",
            self.base_url + self.stream_path,
            params=self.stream_params,
            headers={**self.headers, "Accept": "text/event-stream"},
            timeout=httpx.Timeout(self.source.connect_timeout, read=self.source.read_timeout),
        ) as response:
            if response.status_code in (401, 403, 404):
                raise _Unauthorised(f"HTTP {response.status_code}")
            response.raise_for_status()
            # Connected: now fetch what came since the cursor. Stream events published
            # meanwhile wait in the socket, so nothing falls between backfill and stream.
            await self.backfill(client, out, catch_up=True)
            status = self.source.stats.stream(self.stream_name)
            status.succeeded()
            event = ""
            data: list[str] = []
            async for line in response.aiter_lines():
                if line == "":
                    if data:
                        await self.dispatch(event or "message", "\n".join(data), out)
                    event, data = "", []
                elif line.startswith(":"):
                    self.backoff.reset()  # heartbeat (":thump")
                    status.succeeded()
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    value = line[5:]
                    data.append(value[1:] if value.startswith(" ") else value)
            stats.last_error = None

    async def dispatch(
        self, event: str, data: str, out: asyncio.Queue[SourceItem | BaseException]
    ) -> None:
        stats = self.source.stats
        self.backoff.reset()
        if event in ("update", "status.update"):
            # An edit (status.update) comes as the whole status; its id is already stored, so
            # the store keeps the first version (edits are not tracked).
            try:
                status = msgspec.json.decode(data)
            except msgspec.DecodeError as error:
                stats.received += 1
                stats.malformed_payload(SOURCE, MappingError(str(error)), data)
                return
            if not isinstance(status, dict):
                stats.received += 1
                stats.malformed_payload(SOURCE, MappingError("status is not an object"), data)
                return
            await self.emit(status, out)
        elif event == "delete":
            stats.received += 1
            post_id = self.local_ids.get(data.strip())
            if post_id is None:
                stats.skipped += 1
            else:
                stats.deletions += 1
                await out.put(Deletion(post_id, utcnow()))
        else:
            stats.received += 1
            stats.skipped += 1


class MastodonSource:
    """Posts from the configured timelines of any number of Mastodon instances."""

    name = SOURCE

    def __init__(
        self,
        instances: Sequence[MastodonInstance],
        *,
        streaming: bool = True,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,  # servers send a heartbeat every ~15 s
        page_limit: int = PAGE_LIMIT,
        rescan_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.instances = list(instances)
        for instance in self.instances:
            for timeline in instance.timelines:
                timeline_paths(timeline)  # fail at start-up on a typo
        self.stats = SourceStats()
        for instance in self.instances:
            for timeline in instance.timelines:
                self.stats.stream(stream_name(instance, timeline))
        self.streaming = streaming
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.page_limit = page_limit
        # While polling, how often a poll re-reads the overlap (late statuses wait that long).
        self.rescan_s = rescan_s
        self.transport = transport

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        timelines = []
        for instance in self.instances:
            local_ids = _LocalIds()  # status ids are per server, shared by its timelines
            for timeline in instance.timelines:
                cursor = cursors.get(stream_name(instance, timeline))
                timelines.append(_Timeline(self, instance, timeline, cursor, local_ids))
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self.connect_timeout, read=30.0),
            transport=self.transport,
            follow_redirects=True,
        ) as client:
            runners = [functools.partial(t.run, client) for t in timelines]
            async for item in merged(runners):
                yield item
