"""The broker between the stages: Redis Streams with consumer groups (ADR 0005).

Synchronous redis-py: the door workers and the writer are loops that read a batch (blocking
XREADGROUP), work on it with synchronous code (the door's enrichers, psycopg) and acknowledge;
an asyncio client would only add a second event loop around them. The collector's sources are
asyncio generators: it hands each batch to this client in a thread (`asyncio.to_thread`).

What the stages rely on:
- groups are created idempotently (XGROUP CREATE … MKSTREAM, BUSYGROUP ignored);
- an entry stays in its consumer's pending list until XACK, which a stage sends only after the
  entry's effect is committed (the door: in the same MULTI/EXEC as its output);
- a consumer reads its own pending entries first (`read(..., own=True)`), after a restart under
  the same name or a lost reply, and entries idle longer than `claim_idle_s` in any consumer's
  pending list are taken over with XAUTOCLAIM (a SIGKILLed worker's);
- every call is retried with back-off while Redis is unreachable or loading its AOF after a
  restart (`call`); an XADD retried after a lost reply may be stored twice, which the writer's
  idempotent effects absorb;
- only acknowledged history is trimmed: XTRIM MINID below the oldest entry any group still
  needs (pending, or not yet delivered).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import redis
from redis.exceptions import BusyLoadingError, ResponseError

from stadspuls.backoff import backoff_s
from stadspuls.settings import ClusterSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
Entry = tuple[bytes, dict[bytes, bytes]]  # (entry id, fields)

# Errors after which the same call is tried again: Redis restarting, loading its AOF, a
# connection reset. A ResponseError (a wrong command, a missing group) is raised at once.
RETRYABLE: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    BusyLoadingError,
)


# The dead stream keeps the most recent entries for inspection; a flood of poison cannot grow
# it without bound.
DEAD_MAXLEN = 100_000


def stream_names(prefix: str) -> dict[str, str]:
    return {
        "items": f"{prefix}:items",
        "enriched": f"{prefix}:enriched",
        "dead": f"{prefix}:dead",
    }


def _id_tuple(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _next_id(entry_id: bytes | str) -> str:
    ms, seq = _id_tuple(entry_id)
    return f"{ms}-{seq + 1}"


class Broker:
    """One process's connection to the broker, with the stages' operations on it."""

    def __init__(
        self,
        settings: ClusterSettings,
        *,
        on_error: Callable[[str | None], None] | None = None,
        backoff_max_s: float = 5.0,
    ) -> None:
        self.settings = settings
        self.prefix = settings.stream_prefix
        self.streams = stream_names(self.prefix)
        self.items = self.streams["items"]
        self.enriched = self.streams["enriched"]
        self.dead = self.streams["dead"]
        # A blocking read waits up to block_ms; the socket must outlast it.
        self.redis = redis.Redis.from_url(
            settings.broker_url,
            socket_timeout=settings.block_ms / 1000 + 10,
            socket_connect_timeout=5,
        )
        self.on_error = on_error  # told the last error (None once a call succeeds again)
        self.backoff_max_s = backoff_max_s
        self.reconnects = 0
        self._failing = False
        self._rng = random.Random()

    def close(self) -> None:
        self.redis.close()

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # Retries ---------------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[], T], *, attempts: int | None = None) -> T:
        """`fn()`, tried again with back-off (0.1 s doubling to `backoff_max_s`) while the broker
        is unreachable; `attempts` bounds the tries (None: until it answers)."""
        tries = 0
        while True:
            try:
                result = fn()
            except RETRYABLE as error:
                tries += 1
                if attempts is not None and tries >= attempts:
                    raise
                delay = backoff_s(tries, 0.1, self.backoff_max_s, self._rng.random)
                message = f"broker unavailable ({what}): {type(error).__name__}: {error}"
                if not self._failing:
                    log.warning("%s; retrying", message)
                self._failing = True
                if self.on_error is not None:
                    self.on_error(message)
                time.sleep(delay)
                continue
            if self._failing:
                log.warning("broker reachable again (%s)", what)
                self._failing = False
                self.reconnects += 1
                if self.on_error is not None:
                    self.on_error(None)
            return result

    # Groups ----------------------------------------------------------------------------------

    def ensure_group(self, stream: str, group: str) -> None:
        """Create `group` on `stream` (and the stream) unless it exists; new groups start at
        the stream's beginning, so nothing published before a worker first ran is missed."""

        def create() -> None:
            try:
                self.redis.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

        self.call("XGROUP CREATE", create)

    # Publishing ------------------------------------------------------------------------------

    def publish(self, stream: str, entries: Sequence[Mapping[bytes, bytes]]) -> list[bytes]:
        """XADD every entry, in order, in one round trip. Retried as a whole after a broken
        connection: entries that went in before the break go in again (harmless, see above)."""
        if not entries:
            return []

        def add() -> list[bytes]:
            pipe = self.redis.pipeline(transaction=False)
            capped = stream == self.dead
            for fields in entries:
                if capped:
                    pipe.xadd(stream, cast(Any, fields), maxlen=DEAD_MAXLEN, approximate=True)
                else:
                    pipe.xadd(stream, cast(Any, fields))
            return list(pipe.execute())

        return self.call("XADD", add)

    def publish_and_ack(
        self,
        stream: str,
        entries: Sequence[Mapping[bytes, bytes]],
        source: str,
        group: str,
        ids: Sequence[bytes],
        *,
        dead: Sequence[Mapping[bytes, bytes]] = (),
    ) -> None:
        """Publish a batch's output and acknowledge its inputs in one MULTI/EXEC: either the
        output is there and the inputs are done, or neither (then the inputs are read again)."""

        def run() -> None:
            pipe = self.redis.pipeline(transaction=True)
            for fields in entries:
                pipe.xadd(stream, cast(Any, fields))
            for fields in dead:
                pipe.xadd(self.dead, cast(Any, fields), maxlen=DEAD_MAXLEN, approximate=True)
            if ids:
                pipe.xack(source, group, *ids)
                pipe.hdel(self.key("attempts", group), *ids)
            pipe.execute()

        self.call("MULTI XADD XACK", run)

    # Reading ---------------------------------------------------------------------------------

    def read(
        self,
        stream: str,
        group: str,
        consumer: str,
        count: int,
        *,
        own: bool = False,
        block_ms: int | None = None,
    ) -> list[Entry]:
        """New entries for `consumer` (blocking up to `block_ms`), or with `own` the entries it
        already holds unacknowledged (after a restart under the same name, or a lost reply)."""

        def go() -> list[Entry]:
            reply: Any = self.redis.xreadgroup(
                group,
                consumer,
                {stream: "0" if own else ">"},
                count=count,
                block=None if own else (block_ms if block_ms is not None else 0),
            )
            return [(eid, fields) for _, entries in reply or () for eid, fields in entries]

        try:
            return self.call("XREADGROUP", go)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            # Redis lost the group (started without its AOF, or the stream was deleted):
            # create it again and read on.
            log.warning("group %s on %s was missing; created it again", group, stream)
            self.ensure_group(stream, group)
            return self.call("XREADGROUP", go)

    def claim(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int
    ) -> list[Entry]:
        """Take over entries idle longer than `min_idle_ms` in other consumers' pending lists
        (XAUTOCLAIM), at most `count`; entries trimmed meanwhile are dropped from the list."""

        def go() -> list[Entry]:
            start = "0-0"
            taken: list[Entry] = []
            while len(taken) < count:
                reply: Any = self.redis.xautoclaim(
                    stream, group, consumer, min_idle_ms, start, count=count - len(taken)
                )
                start, entries = reply[0], reply[1]
                taken.extend((eid, fields) for eid, fields in entries if fields is not None)
                if start in (b"0-0", "0-0"):
                    break
            return taken

        return self.call("XAUTOCLAIM", go)

    def claim_all(self, stream: str, group: str, consumer: str) -> int:
        """Take over every entry pending in `group`, whoever holds it (a writer that just
        took the writer lock: only a previous holder can have read them); how many."""

        def go() -> int:
            start, taken = "0-0", 0
            while True:
                # Not JUSTID: redis-py then drops the cursor for the next page.
                reply: Any = self.redis.xautoclaim(stream, group, consumer, 0, start, count=1000)
                start = reply[0]
                taken += len(reply[1])
                if start in (b"0-0", "0-0"):
                    return taken

        return self.call("XAUTOCLAIM", go)

    def ack(self, stream: str, group: str, ids: Sequence[bytes]) -> None:
        if ids:

            def go() -> None:
                pipe = self.redis.pipeline(transaction=True)
                pipe.xack(stream, group, *ids)
                pipe.hdel(self.key("attempts", group), *ids)
                pipe.execute()

            self.call("XACK", go)

    def failed_attempt(self, group: str, ids: Sequence[bytes]) -> dict[bytes, int]:
        """Count one more failure of each entry; the counts after it."""
        if not ids:
            return {}

        def go() -> list[int]:
            pipe = self.redis.pipeline(transaction=False)
            for eid in ids:
                pipe.hincrby(self.key("attempts", group), eid.decode(), 1)
            return [int(n) for n in pipe.execute()]

        return dict(zip(ids, self.call("HINCRBY", go), strict=True))

    # Trimming and inspection -----------------------------------------------------------------

    def needed_from(self, stream: str) -> str | None:
        """The oldest entry id any group on `stream` still needs (pending or not yet
        delivered); None when nothing may be trimmed (no group, or one that read nothing)."""

        def go() -> str | None:
            try:
                groups = self.redis.xinfo_groups(stream)
            except ResponseError:
                return None
            if not groups:
                return None
            oldest: tuple[int, int] | None = None
            for group in groups:
                name = group["name"]
                pending = self.redis.xpending(stream, name)
                if pending["pending"]:
                    need = _id_tuple(pending["min"])
                else:
                    last = group["last-delivered-id"]
                    if _id_tuple(last) == (0, 0):
                        return None
                    need = _id_tuple(_next_id(last))
                oldest = need if oldest is None or need < oldest else oldest
            return None if oldest is None else f"{oldest[0]}-{oldest[1]}"

        return self.call("XINFO", go)

    def trim(self, stream: str) -> int:
        """Remove acknowledged history: entries every group has read and acknowledged."""
        minid = self.needed_from(stream)
        if minid is None:
            return 0
        return int(
            self.call("XTRIM", lambda: self.redis.xtrim(stream, minid=minid, approximate=True))
        )

    def lag(self, stream: str, group: str) -> int | None:
        """Entries of `stream` not yet delivered to `group` plus those pending in it."""

        def go() -> int | None:
            try:
                groups = self.redis.xinfo_groups(stream)
            except ResponseError:
                return None
            for info in groups:
                if info["name"].decode() == group:
                    last_generated = self.redis.xinfo_stream(stream)["last-generated-id"]
                    lag = info.get("lag")
                    return undelivered(
                        None if lag is None else int(lag),
                        int(self.redis.xlen(stream)),
                        info["last-delivered-id"],
                        last_generated,
                    ) + int(info["pending"])
            return None

        return self.call("XINFO GROUPS", go)

    def forget_idle_consumers(self, stream: str, group: str, idle_ms: int) -> list[str]:
        """Delete consumers that hold nothing and were idle longer than `idle_ms` (the names of
        workers that exited), so XINFO stays readable after many restarts."""

        def go() -> list[str]:
            gone = []
            try:
                consumers = self.redis.xinfo_consumers(stream, group)
            except ResponseError:
                return []
            for info in consumers:
                if int(info["pending"]) == 0 and int(info["idle"]) > idle_ms:
                    name = info["name"].decode()
                    self.redis.xgroup_delconsumer(stream, group, name)
                    gone.append(name)
            return gone

        return self.call("XGROUP DELCONSUMER", go)


def undelivered(lag: int | None, length: int, last_delivered: bytes, last_generated: bytes) -> int:
    """Entries a group has not been handed yet. XINFO's `lag` is not to be trusted after Redis
    reloads its append-only file (seen on 7.0.15: a lag of 16,500 on an empty stream whose every
    entry was read and acknowledged), so a group that has read the stream's last entry has
    nothing undelivered, and what it has not read can never exceed what the stream holds (only
    acknowledged history is trimmed)."""
    if _id_tuple(last_delivered) == _id_tuple(last_generated):
        return 0
    return length if lag is None else min(lag, length)
