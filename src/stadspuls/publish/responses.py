"""The response to what we published: the consumer "publication-responses".

For every stored post it asks: is this a reply to one of our statuses, a repost of one, or a
post with a link to one of them (a quote) or to our news page (a link)? Found, it is written to
`publication_responses` with its time and sentiment, which `PublishService.responses` counts
hour by hour beside the monitor the publication was about.

Stored posts carry keyed ids (the door pseudonymises every platform id, `reply_to` and
`repost_of` included) and sealed links. So our own messages are looked for as the door would
store them: the platform id of each sent delivery (Mastodon: the status's ActivityPub URI,
derived from its public URL; Bluesky: `bluesky:DID/rkey` from the at:// URI) through the same
keyed hash, and each post's links are opened with the sealing key and compared with our URLs.
Only deliveries sent within `publish.response_hours` are followed.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from stadspuls.publish.compose import public_base
from stadspuls.records import Post, utcnow
from stadspuls.sealed import Sealer, SealError
from stadspuls.settings import Settings
from stadspuls.sources.jetstream import at_uri_to_post_id
from stadspuls.store import publication_deliveries as store
from stadspuls.store.rows import to_us

log = logging.getLogger(__name__)
NAME = "publication-responses"
# A Mastodon status's public URL (https://host/@name/123) and its ActivityPub URI.
_MASTODON_URL = re.compile(r"^https?://([^/]+)/@([^/@]+)/(\d+)/?$")
_NEWS_PATH = re.compile(r"^/nieuws/(\d+)(?:-[a-z0-9-]*)?/?$")
# How often the list of our own messages is read again (seconds).
REFRESH_S = 30.0


def platform_ids(target: str, external_id: str | None, url: str | None) -> list[str]:
    """The platform post ids ("source:native", before the door's keyed hash) that a sent
    delivery may be known by in collected posts."""
    found: list[str] = []
    if target == "bluesky" and external_id:
        post_id = at_uri_to_post_id(external_id)
        if post_id is not None:
            found.append(post_id)
    elif target == "mastodon" and url:
        match = _MASTODON_URL.match(url)
        if match:
            host, name, status = match.groups()
            found.append(f"mastodon:{host}/users/{name}/statuses/{status}")
        bare = url.split("://", 1)[-1]
        found.append(f"mastodon:{bare}")
    return found


def _url_key(url: str) -> str:
    """A URL as compared: no scheme, no "www.", no query or fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}"


@dataclass
class _Ours:
    """Our own messages of the last `response_hours`: stored ids and URLs -> publication."""

    ids: dict[str, int] = field(default_factory=dict)
    urls: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (id, kind)
    news_host: str = ""
    news: dict[int, int] = field(default_factory=dict)  # publication id -> published_us
    since_us: dict[int, int] = field(default_factory=dict)


class PublicationResponses:
    """A consumer of stored posts (consumers.py) with no state of its own: its output is the
    rows it writes, and its cursor says how far it got."""

    name = NAME
    upstream: str | None = None

    def __init__(
        self,
        settings: Settings,
        *,
        post_id: Callable[[str], str],
        sealer: Sealer | Callable[[], Sealer] | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.post_id = post_id
        self.sealer = sealer
        self.clock = clock
        self._ours: _Ours | None = None
        self._read_at = 0.0

    def load(self, state: bytes | None) -> None:
        del state
        self._ours = None

    def _our_messages(self, conn: sa.Connection) -> _Ours:
        now = self.clock()
        if self._ours is not None and now.timestamp() - self._read_at < REFRESH_S:
            return self._ours
        since = to_us(now) - int(self.settings.publish.response_hours * 3600 * 1_000_000)
        ours = _Ours(news_host=_url_key(public_base(self.settings)).split("/", 1)[0])
        for publication_id, published_us in (
            (pid, published) for pid, _slug, published in store.news_since(conn, since)
        ):
            ours.news[publication_id] = published_us
            ours.since_us[publication_id] = published_us
        for publication_id, target, external_id, url in store.sent_since(conn, since):
            ours.since_us.setdefault(publication_id, 0)
            for raw in platform_ids(target, external_id, url):
                ours.ids[self.post_id(raw)] = publication_id
            if url and target != "news":
                ours.urls[_url_key(url)] = (publication_id, "quote")
        self._ours, self._read_at = ours, now.timestamp()
        return ours

    def _by_link(self, ours: _Ours, post: Post) -> tuple[int, str] | None:
        if self.sealer is None:
            return None
        sealer = self.sealer if isinstance(self.sealer, Sealer) else self.sealer()
        for sealed in post.links:
            try:
                link = sealer.open(sealed, post.id)
            except SealError:
                continue
            key = _url_key(link)
            if key in ours.urls:
                return ours.urls[key]
            host, _, path = key.partition("/")
            match = _NEWS_PATH.match("/" + path)
            if host == ours.news_host and match and int(match.group(1)) in ours.news:
                return int(match.group(1)), "link"
        return None

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> None:
        ours = self._our_messages(conn)
        if not ours.ids and not ours.urls and not ours.news:
            return
        found: list[dict[str, Any]] = []
        for pk, post in rows:
            hit: tuple[int, str] | None = None
            if post.reply_to is not None and post.reply_to in ours.ids:
                hit = ours.ids[post.reply_to], "reply"
            elif post.repost_of is not None and post.repost_of in ours.ids:
                hit = ours.ids[post.repost_of], "repost"
            elif post.links:
                hit = self._by_link(ours, post)
            if hit is None or post.id in ours.ids:
                continue  # not about us, or one of our own messages
            created_us = to_us(post.created_at)
            if created_us < ours.since_us.get(hit[0], 0):
                continue  # older than what it would respond to
            found.append({"publication_id": hit[0], "post_pk": pk, "kind": hit[1],
                          "created_us": created_us, "sentiment": post.sentiment})  # fmt: skip
        if found:
            added = store.add_responses(conn, found)
            log.info("publication responses: %d new", added)
        return


def build(engine: sa.Engine, settings: Settings) -> PublicationResponses:
    """The consumer as `stadspuls run` starts it (pipeline.build_consumers). The keys are read
    when there is first something to match: a process that never published reads none."""
    from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key

    del engine

    @functools.cache
    def pseudonymiser() -> Pseudonymiser:
        return Pseudonymiser(load_or_create_key(settings.key_file))

    def post_id(raw_id: str) -> str:
        return pseudonymiser().post_id(raw_id)

    @functools.cache
    def sealer() -> Sealer:
        return Sealer(load_or_create_key(settings.seal_key_path, "sealing"))

    return PublicationResponses(settings, post_id=post_id, sealer=sealer)
