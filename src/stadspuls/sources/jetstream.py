"""Bluesky through Jetstream: a websocket of JSON events, resumable by a microsecond cursor.

The mapping (`map_jetstream` for a decoded dict, `map_event` for a typed event) is pure; the
websocket client (`JetstreamSource`) reconnects with jittered back-off, rotates through the
configured hosts, and resumes a few seconds before the last event it saw (Jetstream's own
advice: the cursor is a wall-clock time, and rewinding a little loses nothing; the store ignores
the posts it already has).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
import websockets

from stadspuls.records import Checkpoint, Deletion, Post, SourceItem, utc
from stadspuls.settings import BlueskySettings
from stadspuls.sources.base import Backoff, MappingError, SourceStats, declared_lang

log = logging.getLogger(__name__)

SOURCE = "bluesky"
STREAM = "jetstream"
POST_COLLECTION = "app.bsky.feed.post"
IMAGE_URL = "https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg"


# Typed views of the events: msgspec decodes frames straight into these (about twice as fast as
# decoding to dicts), ignores fields it does not know, and names the field when one is missing.
class _PostRecord(msgspec.Struct):
    # Only the fields read; the nested parts stay loose (dicts) so that one odd facet or
    # embed from some client does not make the whole post unreadable.
    text: str
    createdAt: str | None = None  # the lexicon's name
    langs: list[Any] | None = None
    facets: list[Any] | None = None
    embed: dict[str, Any] | None = None
    reply: dict[str, Any] | None = None


class _Commit(msgspec.Struct):
    operation: str
    collection: str
    rkey: str
    record: _PostRecord | None = None
    cid: str | None = None


class JetstreamEvent(msgspec.Struct):
    did: str
    time_us: int
    kind: str
    commit: _Commit | None = None


# The same without the record: a like, follow or profile record has another shape than a
# post's, and such an event is one to skip, not a malformed one.
class _OtherCommit(msgspec.Struct):
    operation: str
    collection: str
    rkey: str
    cid: str | None = None


class _OtherEvent(msgspec.Struct):
    did: str
    time_us: int
    kind: str
    commit: _OtherCommit | None = None


_decoder = msgspec.json.Decoder(JetstreamEvent)
_other_decoder = msgspec.json.Decoder(_OtherEvent)


def decode_frame(frame: bytes | str) -> JetstreamEvent:
    """Decode one Jetstream frame; a malformed frame raises MappingError."""
    try:
        return _decoder.decode(frame)
    except msgspec.ValidationError as error:  # (a subclass of DecodeError: caught first)
        # Posts, nearly all a live stream asked for posts carries, take the fast path above;
        # the events of other collections (in files) are read a second time, without record.
        try:
            other = _other_decoder.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as again:
            raise MappingError(str(again)) from again
        commit = other.commit
        if commit is None or commit.collection == POST_COLLECTION:
            raise MappingError(str(error)) from error
        return JetstreamEvent(
            did=other.did,
            time_us=other.time_us,
            kind=other.kind,
            commit=_Commit(commit.operation, commit.collection, commit.rkey, None, commit.cid),
        )
    except msgspec.DecodeError as error:
        raise MappingError(str(error)) from error


def event_kind(event: JetstreamEvent) -> str:
    """What an event is, for counting the ones that are not posts: "identity", "account",
    a collection ("app.bsky.feed.like") or a post operation ("app.bsky.feed.post:update")."""
    commit = event.commit
    if event.kind != "commit" or commit is None:
        return event.kind
    if commit.collection != POST_COLLECTION:
        return commit.collection
    return f"{POST_COLLECTION}:{commit.operation}"


def post_record(event: JetstreamEvent) -> _PostRecord | None:
    """The post record of a created post, None for every other event."""
    commit = event.commit
    if (
        commit is None
        or commit.operation != "create"
        or commit.collection != POST_COLLECTION
        or event.kind != "commit"
    ):
        return None
    if commit.record is None:
        raise MappingError("missing required field 'commit.record'")
    return commit.record


def map_jetstream(event: Mapping[str, Any]) -> Post | Deletion | None:
    """Map a decoded Jetstream event: a created post → Post, a deleted post → Deletion,
    anything else (identity, account, other collections, updates) → None."""
    if not isinstance(event, Mapping):
        raise MappingError(f"expected an event object, got {type(event).__name__}")
    return map_event(decode_frame(msgspec.json.encode(event)))


def map_event(event: JetstreamEvent) -> Post | Deletion | None:
    commit = event.commit
    if event.kind != "commit" or commit is None or commit.collection != POST_COLLECTION:
        return None
    did = event.did
    native = f"{did}/{commit.rkey}"
    if commit.operation == "delete":
        return Deletion(id=f"{SOURCE}:{native}", at=_from_time_us(event.time_us))
    if commit.operation != "create":
        return None  # posts are immutable in the app; an "update" is not a new post
    record = post_record(event)
    if record is None:
        raise MappingError("missing required field 'commit.record'")
    hashtags, mentions, links = _facets(record.facets) if record.facets else ((), (), ())
    embed = record.embed
    return Post(
        id=f"{SOURCE}:{native}",
        source=SOURCE,
        native_id=native,
        created_at=_created_at(record.createdAt, event.time_us),
        text=record.text,
        author=did,
        url=f"https://bsky.app/profile/{did}/post/{commit.rkey}",
        lang_declared=_first_lang(record.langs) if record.langs else None,
        hashtags=hashtags,
        mentions=mentions,
        links=links + _embed_links(embed) if embed else links,
        media=_embed_images(embed, did) if embed else (),
        reply_to=_reply_parent(record.reply) if record.reply else None,
    )


def declared_langs(record: _PostRecord | None) -> list[str]:
    """A post record's declared languages (ISO 639-1), for filtering before mapping."""
    langs = record.langs if record is not None else None
    if not langs:
        return []
    return [code for code in map(declared_lang, langs) if code]


def _from_time_us(time_us: int) -> datetime:
    return datetime.fromtimestamp(time_us / 1_000_000, UTC)


def _created_at(value: object, time_us: int) -> datetime:
    # createdAt is whatever the author's client wrote (sometimes naive, sometimes far in the
    # past or the future); the relay's time is the fallback when it does not parse.
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    return _from_time_us(time_us)


def _first_lang(langs: object) -> str | None:
    if isinstance(langs, list):
        for code in langs:
            lang = declared_lang(code)
            if lang:
                return lang
    return None


def _facets(facets: object) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    tags: list[str] = []
    mentions: list[str] = []
    links: list[str] = []
    if not isinstance(facets, list):
        return (), (), ()
    for facet in facets:
        features = facet.get("features") if isinstance(facet, dict) else None
        for feature in features if isinstance(features, list) else ():
            if not isinstance(feature, dict):
                continue
            kind = feature.get("$type")
            if kind == "app.bsky.richtext.facet#tag" and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"])
            elif kind == "app.bsky.richtext.facet#mention" and isinstance(feature.get("did"), str):
                mentions.append(feature["did"])
            elif kind == "app.bsky.richtext.facet#link" and isinstance(feature.get("uri"), str):
                links.append(feature["uri"])
    return tuple(tags), tuple(mentions), tuple(links)


def _media_part(embed: object) -> dict[str, Any] | None:
    if not isinstance(embed, dict):
        return None
    if embed.get("$type") == "app.bsky.embed.recordWithMedia":
        media = embed.get("media")
        return media if isinstance(media, dict) else None
    return embed


def _embed_images(embed: object, did: str) -> tuple[str, ...]:
    media = _media_part(embed)
    if media is None or media.get("$type") != "app.bsky.embed.images":
        return ()
    urls: list[str] = []
    for image in media.get("images") or ():
        blob = image.get("image") if isinstance(image, dict) else None
        ref = blob.get("ref") if isinstance(blob, dict) else None
        cid = ref.get("$link") if isinstance(ref, dict) else None
        if isinstance(blob, dict) and cid is None:
            cid = blob.get("cid")  # legacy blob shape
        if isinstance(cid, str):
            urls.append(IMAGE_URL.format(did=did, cid=cid))
    return tuple(urls)


def _embed_links(embed: object) -> tuple[str, ...]:
    media = _media_part(embed)
    if media is None or media.get("$type") != "app.bsky.embed.external":
        return ()
    external = media.get("external")
    uri = external.get("uri") if isinstance(external, dict) else None
    return (uri,) if isinstance(uri, str) else ()


def _reply_parent(reply: object) -> str | None:
    parent = reply.get("parent") if isinstance(reply, dict) else None
    uri = parent.get("uri") if isinstance(parent, dict) else None
    return at_uri_to_post_id(uri) if isinstance(uri, str) else None


def at_uri_to_post_id(uri: str) -> str | None:
    """`at://did:plc:x/app.bsky.feed.post/rkey` → `bluesky:did:plc:x/rkey`."""
    if not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or parts[1] != POST_COLLECTION:
        return None
    return f"{SOURCE}:{parts[0]}/{parts[2]}"


class JetstreamSource:
    """Live Bluesky posts from Jetstream, filtered by declared language.

    Checkpoints carry the `time_us` of the last event handled; one is emitted after a post once
    `checkpoint_every` events or `checkpoint_seconds` have passed since the last one, and also
    while only filtered-out events arrive, so that a restart does not replay hours of them.
    """

    name = STREAM

    def __init__(
        self,
        settings: BlueskySettings,
        *,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        rewind_seconds: float = 5.0,
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 1.0,
        open_timeout: float = 10.0,
    ) -> None:
        if not settings.hosts:
            raise ValueError("bluesky.hosts is empty: configure at least one Jetstream host")
        self.hosts = list(settings.hosts)
        self.langs = frozenset(lang.lower() for lang in settings.langs)
        self.keep_undeclared = settings.keep_undeclared
        self.stats = SourceStats()
        self.stats.stream(STREAM)
        self.backoff = Backoff(backoff_base, backoff_cap)
        self.rewind_us = int(rewind_seconds * 1_000_000)
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.open_timeout = open_timeout
        self.host_index = 0
        self.last_time_us: int | None = None

    def url(self, host: str) -> str:
        query = [("wantedCollections", POST_COLLECTION)]
        if self.last_time_us is not None:
            query.append(("cursor", str(max(0, self.last_time_us - self.rewind_us))))
        return f"{host.rstrip('/')}/subscribe?{urlencode(query)}"

    def wanted(self, record: _PostRecord | None) -> bool:
        if not self.langs:
            return True
        langs = declared_langs(record)
        if not langs:
            return self.keep_undeclared
        return any(lang in self.langs for lang in langs)

    def handle(self, frame: bytes | str) -> Post | Deletion | None:
        """Decode, filter and map one frame; updates stats and the in-memory cursor."""
        stats = self.stats
        stats.received += 1
        try:
            event = decode_frame(frame)
            record = post_record(event)
            if record is not None and not self.wanted(record):
                self._advance(event.time_us)
                stats.skip("language")
                return None
            item = map_event(event)
        except MappingError as error:
            stats.malformed_payload(SOURCE, error, frame)
            return None
        self._advance(event.time_us)
        if item is None:
            stats.skip(event_kind(event))
        elif isinstance(item, Post):
            stats.posts += 1
        else:
            stats.deletions += 1
        return item

    def _advance(self, time_us: int) -> None:
        # After a rewound reconnect, events already seen come again: the cursor never goes back.
        if self.last_time_us is None or time_us > self.last_time_us:
            self.last_time_us = time_us

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        if STREAM in cursors:
            self.last_time_us = int(cursors[STREAM])
        since_checkpoint = 0
        checkpoint_at = time.monotonic()
        checkpointed_us = self.last_time_us
        status = self.stats.stream(STREAM)
        delay = 0.0
        first = True
        while True:
            if not first:
                self.stats.reconnects += 1
                await asyncio.sleep(delay)
            first = False
            host = self.hosts[self.host_index % len(self.hosts)]
            status.connecting()
            try:
                async with websockets.connect(
                    self.url(host), open_timeout=self.open_timeout, max_size=2**22
                ) as websocket:
                    status.succeeded()
                    try:
                        async for frame in websocket:
                            self.backoff.reset()
                            item = self.handle(frame)
                            since_checkpoint += 1
                            if item is not None:
                                yield item
                            due = since_checkpoint >= self.checkpoint_every or (
                                time.monotonic() - checkpoint_at >= self.checkpoint_seconds
                            )
                            if due and self.last_time_us != checkpointed_us:
                                status.succeeded()  # once per checkpoint, not per frame
                                checkpointed_us = self.last_time_us
                                since_checkpoint = 0
                                checkpoint_at = time.monotonic()
                                yield Checkpoint(STREAM, str(checkpointed_us))
                    except GeneratorExit:
                        # The consumer stopped: frames still queued would hold up the closing
                        # handshake until its timeout, and nothing more is wanted from them.
                        websocket.transport.abort()
                        raise
                # the server closed the connection normally: reconnect anyway (live source)
                self.stats.last_error = "connection closed by server"
            except (OSError, websockets.WebSocketException, TimeoutError) as error:
                self.stats.last_error = f"{type(error).__name__}: {error}"
            delay = self.backoff.next_delay()
            status.retrying(f"{host}: {self.stats.last_error}", delay)
            self.host_index += 1


def build_jetstream(settings: BlueskySettings) -> Sequence[JetstreamSource]:
    return [JetstreamSource(settings)] if settings.enabled else []
