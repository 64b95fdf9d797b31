"""The consumer "media_seen": perceptual hashes of the images in monitored posts, so that a
citizen's photo can be recognised as one posted before ("op Bluesky gezien, 3 dagen eerder").

It follows the monitor linker and looks only at posts linked to a monitor (what the
organisation watches on purpose, not everything a firehose carries). A post's media URLs are
sealed at the door; they are opened here with the sealing key, fetched, hashed in the
decoder pool and forgotten: only the hash, the post and the SHA-256 of the URL are stored.

Off by default (`inbox.fetch_post_media`): fetching from the platforms' servers tells them our
address and what we look at. The fetch is careful because a post's URL is chosen by whoever
posted it: http(s) only, no user names in URLs, public addresses only (checked for the first
URL and for every redirect, at most 3), a size cap and a timeout; anything else is skipped and
logged, never fatal to the consumer.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import sqlalchemy as sa

from stadspuls.media.decode import Decoder, Job, Refused
from stadspuls.media.errors import MediaRejected
from stadspuls.media.sniff import HEAD_BYTES, sniff
from stadspuls.records import Post
from stadspuls.sealed import Sealer, SealError
from stadspuls.settings import Settings
from stadspuls.store import media as store
from stadspuls.store.consumers import UNCHANGED, Unchanged
from stadspuls.store.monitors import links_for

log = logging.getLogger(__name__)

NAME = "media_seen"
MAX_REDIRECTS = 3
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
USER_AGENT = "Stadspuls media check (+https://github.com/stadspuls)"


class FetchRefused(Exception):
    """A URL we do not fetch, or an answer we do not take (said in the log)."""


Resolve = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None)]


@dataclass
class Fetcher:
    """Fetches one image to a temporary file, carefully (see the module)."""

    max_bytes: int
    timeout_s: float = 10.0
    allow_private: bool = False  # tests serve images from 127.0.0.1
    resolve: Resolve = _resolve

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchRefused(f"not http(s): {parts.scheme!r}")
        if not parts.hostname or parts.username or parts.password:
            raise FetchRefused("no host, or credentials in the URL")
        if self.allow_private:
            return
        try:
            addresses = self.resolve(parts.hostname)
        except OSError as error:
            raise FetchRefused(f"cannot resolve {parts.hostname}: {error}") from None
        for address in addresses:
            if not ipaddress.ip_address(address.split("%")[0]).is_global:
                raise FetchRefused(f"{parts.hostname} resolves to a private address")

    def fetch(self, url: str, target: Path) -> None:
        with httpx.Client(
            follow_redirects=False,
            timeout=self.timeout_s,
            headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
        ) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                self.check(url)
                with client.stream("GET", url) as answer:
                    if answer.is_redirect and "location" in answer.headers:
                        url = urljoin(url, answer.headers["location"])
                        continue
                    if answer.status_code != 200:
                        raise FetchRefused(f"HTTP {answer.status_code}")
                    declared = int(answer.headers.get("content-length") or 0)
                    if declared > self.max_bytes:
                        raise FetchRefused(f"{declared} bytes is over the cap")
                    size = 0
                    with target.open("wb") as out:
                        for block in answer.iter_bytes():
                            size += len(block)
                            if size > self.max_bytes:
                                raise FetchRefused("over the size cap")
                            out.write(block)
                    return
        raise FetchRefused("too many redirects")


class SeenMediaConsumer:
    """The consumer "media_seen" (see the module)."""

    name = NAME
    upstream: str | None = "linker"

    def __init__(
        self,
        engine: sa.Engine,
        *,
        sealer: Sealer,
        decoder: Decoder,
        fetcher: Fetcher,
        tmp: Path,
        enabled: bool = True,
    ) -> None:
        self.engine = engine
        # Disabled, it only keeps its cursor at the newest post (no decoder process is started:
        # the pool starts on its first file), so switching it on later starts from then.
        self.enabled = enabled
        self.sealer = sealer
        self.decoder = decoder
        self.fetcher = fetcher
        self.tmp = tmp
        self.max_pixels = 50_000_000

    def load(self, state: bytes | None) -> None:
        del state  # no state: the table is the output, (post, url) unique

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> Unchanged:
        with_media = [(pk, post) for pk, post in rows if post.media]
        if not with_media or not self.enabled:
            return UNCHANGED
        links = links_for(conn, [pk for pk, _ in with_media])
        found: list[tuple[int, Post, str, str]] = []
        for pk, post in with_media:
            if not links.get(pk):
                continue
            for token in post.media:
                url = self._open(token, post)
                if url is None:
                    continue
                url_hash = hashlib.sha256(url.encode()).hexdigest()
                value = store.seen_hashes_of_url(conn, url_hash) or self._hash(url)
                if value is not None:
                    found.append((pk, post, url_hash, value))
        # Compute first, write last: on SQLite the write lock is held from the first write on.
        for pk, post, url_hash, value in found:
            store.add_seen(
                conn,
                post_pk=pk,
                source=post.source,
                url_hash=url_hash,
                phash=value,
                seen_at=post.created_at,
            )
        return UNCHANGED

    def _open(self, token: str, post: Post) -> str | None:
        try:
            return self.sealer.open(token, post.id)
        except SealError:
            log.warning("a media URL of post %s cannot be opened; skipped", post.id)
            return None

    def _hash(self, url: str) -> str | None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="seen-")
        os.close(fd)
        path = Path(name)
        try:
            self.fetcher.fetch(url, path)
            with path.open("rb") as handle:
                kind = sniff(handle.read(HEAD_BYTES)).content_type
            if kind not in _IMAGE_TYPES:
                raise FetchRefused(f"not an image we hash: {kind}")
            job = Job(
                path=name,
                content_type=kind,
                thumb_path="",
                stripped_path="",
                max_pixels=self.max_pixels,
                timeout_s=self.decoder.timeout_s,
                derive=False,
            )
            return self.decoder.run_blocking(job).phash
        except (FetchRefused, httpx.HTTPError, Refused, MediaRejected) as error:
            log.info("media of a monitored post skipped: %s", error)
            return None
        finally:
            path.unlink(missing_ok=True)


def build(
    engine: sa.Engine, settings: Settings, *, fetcher: Fetcher | None = None
) -> SeenMediaConsumer:
    """The consumer as `stadspuls run` starts it when `inbox.fetch_post_media` is on
    (pipeline.optional_consumers)."""
    from stadspuls.enrich.pseudonymise import load_or_create_key

    inbox = settings.inbox
    decoder = Decoder(workers=1, memory_mb=inbox.decode_memory_mb, timeout_s=inbox.decode_timeout_s)
    consumer = SeenMediaConsumer(
        engine,
        sealer=Sealer(load_or_create_key(settings.seal_key_path, "sealing")),
        decoder=decoder,
        fetcher=fetcher or Fetcher(max_bytes=int(inbox.fetch_post_media_max_mb * 1024 * 1024)),
        tmp=inbox.media_dir / "tmp",
        enabled=inbox.fetch_post_media,
    )
    consumer.max_pixels = inbox.max_pixels
    return consumer
