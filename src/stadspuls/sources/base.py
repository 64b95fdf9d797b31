"""The small interface every source implements.

A source is an async iterator of `SourceItem`s (posts, deletions and checkpoints). It is given
the cursors it emitted before (as stored by the writer in the same transaction as the posts), so
that after a disconnect or restart it resumes where it stopped: nothing missed, nothing doubled
(the store ignores a post id it already has).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from stadspuls.records import SourceItem
from stadspuls.sources.status import StreamStatus
from stadspuls.sources.throttle import LogThrottle

log = logging.getLogger(__name__)


class MappingError(ValueError):
    """A raw payload could not be mapped: a required field is missing or malformed."""


class SkippedPayload(MappingError):
    """A well-formed payload that is not collected (e.g. a private status), with its reason.

    A MappingError, so that a caller that knows only MappingError still skips the payload
    (counting it as malformed) instead of stopping; callers that know it count it as skipped.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SourceStats:
    received: int = 0  # raw payloads (frames, items, lines) seen
    posts: int = 0
    deletions: int = 0
    malformed: int = 0  # payloads that could not be decoded or mapped (logged and skipped)
    skipped: int = 0  # well-formed payloads that are not posts or are filtered out
    reconnects: int = 0
    last_error: str | None = None
    extra: dict[str, int] = field(default_factory=dict)
    # what `skipped` consists of, e.g. {"app.bsky.feed.like": 812, "identity": 3}
    skipped_by_kind: dict[str, int] = field(default_factory=dict)
    invalid_utf8: int = 0  # lines read with bytes that are not UTF-8 (replaced by U+FFFD)
    # The state of each stream (feed, timeline, websocket) the source reads, by stream name.
    streams: dict[str, StreamStatus] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Not a field (so not in the counts `asdict` reports): a burst of bad payloads logs a
        # few lines and a count instead of one line each.
        self.warnings = LogThrottle(log)

    def stream(self, name: str) -> StreamStatus:
        """The status of stream `name`, created (state "connecting") on first use."""
        status = self.streams.get(name)
        if status is None:
            status = self.streams[name] = StreamStatus(name)
        return status

    def malformed_payload(self, source: str, error: Exception, raw: object) -> None:
        self.malformed += 1
        self.last_error = f"{type(error).__name__}: {error}"
        # The payload itself is not logged: it names its author (handles, DIDs, profile URLs).
        size = f"{len(raw)} bytes/chars" if isinstance(raw, str | bytes) else type(raw).__name__
        self.warnings.warning(
            f"malformed:{source}",
            "%s: skipped malformed payload (%s): %s",
            source,
            self.last_error,
            size,
        )

    def malformed_line(self, source: str, path: object, line: int, error: Exception) -> None:
        """Count a record of a file that could not be read, logged with where it stands."""
        self.malformed_payload(source, MappingError(f"{path}:{line}: {error}"), None)

    def skip(self, kind: str) -> None:
        """Count a well-formed payload that is not a post (a like, a profile update, …)."""
        self.skipped += 1
        self.skipped_by_kind[kind] = self.skipped_by_kind.get(kind, 0) + 1

    def skipped_payload(self, skipped: SkippedPayload) -> None:
        """Count a post left out on purpose (a followers-only or direct status), by its reason."""
        self.skip(skipped.reason)


@runtime_checkable
class Source(Protocol):
    name: str
    stats: SourceStats

    def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        """Yield items forever (live sources) or until exhausted (files), resuming at `cursors`."""
        ...


class Backoff:
    """Exponential back-off with full jitter (AWS architecture blog, "Exponential Backoff And
    Jitter"): sleep a uniform random time in [0, min(cap, base * 2**attempt)]. Full jitter
    spreads the reconnects of many clients after an outage better than equal or no jitter."""

    def __init__(self, base: float = 1.0, cap: float = 60.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(self.attempt, 62))
        self.attempt += 1
        return random.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def declared_lang(code: object) -> str | None:
    """First ISO 639-1 code of a platform's declared language: "nl-NL" → "nl", "und" → None."""
    if not isinstance(code, str):
        return None
    primary = code.strip().replace("_", "-").split("-", 1)[0].lower()
    if len(primary) == 2 and primary.isascii() and primary.isalpha():
        return primary
    return None


def native_id(raw: str, limit: int = 200) -> str:
    """A platform id as it is, or its SHA-256 (hex) when it is too long to serve as a key."""
    if len(raw) <= limit:
        return raw
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def required(payload: Mapping[str, Any], key: str, path: str = "") -> Any:
    """`payload[key]`, or a MappingError naming the (dotted) field when it is absent or null."""
    if not isinstance(payload, Mapping):
        raise MappingError(
            f"expected an object at {path or '<root>'}, got {type(payload).__name__}"
        )
    value = payload.get(key)
    if value is None:
        raise MappingError(f"missing required field {path + key!r}")
    return value


Runner = Callable[["asyncio.Queue[SourceItem | BaseException]"], Awaitable[None]]


async def merged(runners: Sequence[Runner], maxsize: int = 10_000) -> AsyncIterator[SourceItem]:
    """Run one task per sub-stream (a feed, a timeline) and yield their items as they come.

    Each runner puts its items on a shared bounded queue (order within a runner is kept, so a
    checkpoint still follows its posts). A runner that fails with an unexpected error ends the
    whole stream with that error rather than going quiet; closing the iterator cancels them all.
    """
    queue: asyncio.Queue[SourceItem | BaseException] = asyncio.Queue(maxsize=maxsize)

    async def guard(runner: Runner) -> None:
        try:
            await runner(queue)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await queue.put(error)

    tasks = [asyncio.create_task(guard(runner)) for runner in runners]
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
