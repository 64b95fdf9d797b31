"""Consumers of stored posts: each with its own persisted cursor, run after the writer's commit.

A consumer (the monitor linker, a detector, alert delivery) reads the stored posts after its
cursor in pk order and writes its output through the connection it is given; the driver moves the
cursor (and the consumer's state) in that same transaction. Output and cursor commit together or
not at all, so a failure or a `kill -9` at any moment makes the consumer redo exactly the chunk
whose output was not committed: every effect happens once. Each consumer runs in its own thread:
one that raises or is slow retries from its cursor with back-off and holds up neither the writer
nor the other consumers. See docs/decisions/0003-consumers-with-own-cursors.md.

On SQLite the write lock is taken at a consumer's first write and held until its commit: a
consumer should compute first and write last (the driver reads the posts outside that lock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import sqlalchemy as sa

from stadspuls.records import Post
from stadspuls.store import consumers as store
from stadspuls.store.consumers import UNCHANGED, ConsumerStatus, Unchanged

__all__ = ["UNCHANGED", "Consumer", "Consumers", "Driver", "Unchanged"]

log = logging.getLogger(__name__)

Start = Literal["now", "beginning"]


class Consumer(Protocol):
    """What the driver needs of a consumer of stored posts."""

    # Its cursor's name in `consumers`: stable across releases (renaming it starts it afresh).
    name: str
    # A consumer whose cursor bounds this one (detectors read only posts the linker has linked).
    upstream: str | None

    def load(self, state: bytes | None) -> None:
        """Restore the in-memory state as of the cursor (None: the consumer's initial state)."""
        ...

    def consume(
        self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]
    ) -> bytes | Unchanged | None:
        """Write the output for `rows` (pk, post) through `conn`; return the new state, None, or
        UNCHANGED to keep the stored state as it is."""
        ...


class _Read:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.rows: list[tuple[int, Post]] | None = None


class SharedReads:
    """One read of a chunk for every consumer behind the same upstream.

    The detectors all follow the linker and are woken by the same commit of it, so they ask for
    the same range of posts: the first asks the database, the others get the same decoded posts
    (frozen records). Only ranges bounded by an upstream cursor are shared: they hold committed
    posts and no new one can appear in them. A post deleted after the read may still reach a
    consumer that gets the chunk a moment later, as it would have had it read a moment earlier.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._reads: OrderedDict[tuple[int, int, int], _Read] = OrderedDict()

    def read(
        self, conn: sa.Connection, after: int, limit: int, upto: int
    ) -> list[tuple[int, Post]]:
        key = (after, limit, upto)
        with self._lock:
            found = self._reads.get(key)
            if found is None:
                found = self._reads[key] = _Read()
                owner = True
                while len(self._reads) > self.size:
                    self._reads.popitem(last=False)
            else:
                owner = False
        if not owner:
            found.done.wait()
            if found.rows is not None:
                return found.rows
            return store.posts_after(conn, after, limit, upto_pk=upto)  # the first read failed
        try:
            found.rows = store.posts_after(conn, after, limit, upto_pk=upto)
        except BaseException:
            with self._lock:
                self._reads.pop(key, None)
            raise
        finally:
            found.done.set()
        return found.rows


class Driver:
    """Runs one consumer: chunks of posts after its cursor, one transaction per chunk."""

    def __init__(
        self,
        engine: sa.Engine,
        consumer: Consumer,
        *,
        chunk: int = 2000,
        start: Start = "now",
        backoff_s: float = 0.1,
        max_backoff_s: float = 30.0,
        reads: SharedReads | None = None,
    ) -> None:
        self.engine = engine
        self.consumer = consumer
        self.reads = reads
        self.name = consumer.name
        self.chunk = chunk
        # A consumer whose output must cover every stored post (the rollup) starts at the
        # beginning even where the others start at the newest post.
        self.start: Start = getattr(consumer, "start", None) or start
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.last_pk = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None
        # When the last step that found nothing new began (monotonic): how `drain` knows a
        # consumer is done even when the newest posts were deleted before it read them.
        self.idle_at = 0.0
        self.loaded = False  # whether the consumer's state is the state of `last_pk`

    def prepare(self) -> None:
        """Read the cursor (creating it on first start) and load the state that goes with it."""
        self.last_pk, state = store.ensure_cursor(
            self.engine, self.name, beginning=self.start == "beginning"
        )
        self.consumer.load(state)
        self.loaded = True

    def reload(self) -> None:
        """After a failure: back to the committed cursor and its state."""
        with self.engine.connect() as conn:
            found = store.read_cursor(conn, self.name)
        self.last_pk, state = found if found is not None else (self.last_pk, None)
        self.consumer.load(state)
        self.loaded = True

    def step(self) -> int:
        """Consume one chunk; the number of posts consumed (0: caught up). Raises on failure,
        with nothing of the chunk committed."""
        began = time.monotonic()
        if not self.loaded:
            self.reload()
        with self.engine.connect() as conn:
            upto = None
            if self.consumer.upstream is not None:
                upto = store.last_pk(conn, self.consumer.upstream) or 0
                if upto <= self.last_pk:
                    self.idle_at = began
                    return 0
            if upto is not None and self.reads is not None:
                rows = self.reads.read(conn, self.last_pk, self.chunk, upto)
            else:
                rows = store.posts_after(conn, self.last_pk, self.chunk, upto_pk=upto)
            if not rows:
                self.idle_at = began
                return 0
            # Reading the posts ends its (SQLite: implicit) transaction; output + cursor get one.
            conn.commit()
            with conn.begin():
                state = self.consumer.consume(conn, rows)
                store.advance(conn, self.name, expected=self.last_pk, to=rows[-1][0], state=state)
        self.last_pk = rows[-1][0]
        self.consecutive_failures = 0
        return len(rows)

    def failed(self, error: BaseException) -> float:
        """Record a failure, reload the committed state; the seconds to wait before retrying."""
        self.loaded = False  # the failed chunk may have changed the in-memory state
        if isinstance(error, store.CursorMoved):
            # Not the consumer's fault: another process runs it too and was first.
            log.info("%s", error)
            self._try_reload()
            return 0.0
        tries = self.consecutive_failures + 1
        self.last_error = f"{type(error).__name__}: {error}"
        log.error("consumer %s failed (try %d)", self.name, tries, exc_info=error)
        try:
            store.record_failure(self.engine, self.name, self.last_error)
        except sa.exc.SQLAlchemyError:
            log.exception("could not record the failure of consumer %s", self.name)
        # Counted only once recorded: `drain` gives up on this count, and whoever reports the
        # statuses then must find every failure in the store.
        self.consecutive_failures = tries
        self._try_reload()
        return min(self.backoff_s * 2.0 ** (self.consecutive_failures - 1), self.max_backoff_s)

    def _try_reload(self) -> None:
        try:
            self.reload()
        except Exception:
            # `step` reloads before it consumes anything (`loaded` is still False).
            log.exception("could not reload consumer %s; retrying later", self.name)


class Consumers:
    """Every consumer in its own thread, woken by the writer after each commit.

    `start()` reads the cursors (a consumer seen for the first time starts at the newest post or
    at the beginning) and starts the threads, which catch up from their cursors; `wake()` is what
    the writer calls after a commit; `drain()` waits until every consumer has caught up.
    """

    def __init__(
        self,
        engine: sa.Engine,
        consumers: Sequence[Consumer],
        *,
        chunk: int = 2000,
        start: Start = "now",
        poll_s: float = 1.0,
        backoff_s: float = 0.1,
        max_backoff_s: float = 30.0,
        upstream_elsewhere: bool = False,
        gate: Callable[[str], bool] | None = None,
    ) -> None:
        """`upstream_elsewhere`: an upstream need not be in this group (another process runs
        it; its cursor is read from the store as always). `gate(name)`: whether this process may
        run that consumer now (`stadspuls worker consumers` holds a lock per consumer; a
        consumer whose gate is shut waits and reloads its cursor once it opens)."""
        names = [c.name for c in consumers]
        if len(set(names)) != len(names):
            raise ValueError(f"consumer names must be unique: {names}")
        for consumer in consumers:
            upstream = consumer.upstream
            if upstream is not None and upstream not in names and not upstream_elsewhere:
                raise ValueError(f"consumer {consumer.name}: no upstream {consumer.upstream}")
        self.engine = engine
        self.poll_s = poll_s
        self.gate = gate
        ordered = _upstream_first(consumers)
        # One cache of reads per upstream: a consumer may rewrite the posts it consumes (the
        # accurate stage rescores them), so its own read of a range must never reach the
        # consumers behind it, which read that range only after its commit.
        reads: dict[str, SharedReads] = {}
        self.drivers = [
            Driver(engine, c, chunk=chunk, start=start, backoff_s=backoff_s,
                   max_backoff_s=max_backoff_s,
                   reads=reads.setdefault(c.upstream or "", SharedReads()))
            for c in ordered
        ]  # fmt: skip
        self._wakes = {d.name: threading.Event() for d in self.drivers}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for driver in self.drivers:
            driver.prepare()
        for driver in self.drivers:
            thread = threading.Thread(
                target=self._loop, args=(driver,), name=f"consumer-{driver.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """New posts were committed: every consumer looks (cheap; safe from any thread)."""
        for event in self._wakes.values():
            event.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def __enter__(self) -> Consumers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self, driver: Driver) -> None:
        wake = self._wakes[driver.name]
        while not self._stop.is_set():
            wake.clear()
            if self.gate is not None and not self.gate(driver.name):
                # Another process may move the cursor meanwhile: reload it when ours again.
                driver.loaded = False
                wake.wait(self.poll_s)
                continue
            try:
                consumed = driver.step()
            except Exception as error:
                wait = driver.failed(error)
                self._stop.wait(wait)
                continue
            if consumed:
                for other in self.drivers:
                    if other.consumer.upstream == driver.name:
                        self._wakes[other.name].set()
                continue
            # Caught up: sleep until the writer wakes us; polling covers other processes' posts.
            wake.wait(self.poll_s)

    def drain(self, *, give_up_after: int = 5, interval_s: float = 0.02) -> bool:
        """Wait until every consumer has consumed the posts stored now. False when one has
        failed `give_up_after` times in a row (its cursor stays where it is), once the others
        have caught up."""
        began = time.monotonic()
        with self.engine.connect() as conn:
            target = store.max_pk(conn)
        self.wake()
        done_at: dict[str, float] = {}
        while True:
            for d in self.drivers:  # upstream consumers come first (see __init__)
                upstream = d.consumer.upstream
                if d.name in done_at or (upstream is not None and upstream not in done_at):
                    continue
                since = max(began, done_at[upstream]) if upstream is not None else began
                if d.last_pk >= target or d.idle_at > since:
                    done_at[d.name] = time.monotonic()
            if len(done_at) == len(self.drivers):
                return True
            # Given up on: failed too often, or behind one that did. The others are waited for,
            # so that what is reported then is how far each got, not a moment of its catching up.
            failing = {d.name for d in self.drivers if d.consecutive_failures >= give_up_after}
            if failing:
                for d in self.drivers:
                    if d.consumer.upstream in failing:
                        failing.add(d.name)
                if all(d.name in done_at or d.name in failing for d in self.drivers):
                    return False
            time.sleep(interval_s)

    def statuses(self) -> list[ConsumerStatus]:
        names = {d.name for d in self.drivers}
        return [s for s in store.consumer_statuses(self.engine) if s.name in names]


def _upstream_first(consumers: Sequence[Consumer]) -> list[Consumer]:
    ordered: list[Consumer] = []
    placed: set[str] = set()
    pending = list(consumers)
    inside = {c.name for c in consumers}
    while pending:
        # An upstream run by another process is as good as placed.
        ready = [
            c
            for c in pending
            if c.upstream is None or c.upstream in placed or c.upstream not in inside
        ]
        if not ready:
            raise ValueError(f"consumers wait on each other: {[c.name for c in pending]}")
        ordered.extend(ready)
        placed.update(c.name for c in ready)
        pending = [c for c in pending if c not in ready]
    return ordered


def describe(status: ConsumerStatus) -> str:
    """One line per consumer, for the command line."""
    line = f"{status.name}: at post {status.last_pk}, {status.lag} behind"
    if status.failures:
        line += f", {status.failures} failure(s)"
        if status.last_error:
            at = f" at {status.last_error_at:%Y-%m-%d %H:%M:%S}Z" if status.last_error_at else ""
            line += f"; last{at}: {status.last_error}"
    return line
