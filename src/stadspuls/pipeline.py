"""The one place that knows the order of the stages: sources → door → store → consumers.

Each stage takes records and returns records, with its state explicit (the door's enrichers,
the writer's connection, the cursors in the store), so a broker can later sit between stages
without a rewrite. The consumers of stored posts (the monitor linker, the detectors) run after
the writer's commit, each from its own cursor (stadspuls.consumers); the writer only wakes them.
`assemble` builds door, writer and consumers for `run`, `ingest`, replay and the benchmarks.

In one process: sources are asyncio tasks feeding a bounded queue; batches go through the door
and then the writer. The door may run in a child process (`DoorProcess`):
then batch k is enriched on one core while batch k-1 is written on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import sys
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from stadspuls.consumers import Consumer, Consumers, Start
from stadspuls.detect.registry import BUILTIN as BUILTIN_DETECTORS
from stadspuls.enrich.dedup import Deduplicator
from stadspuls.enrich.door import Door, start_door
from stadspuls.enrich.worker import DoorProcess
from stadspuls.query.parser import Pseudonymise
from stadspuls.records import Deletion, Post, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import Source
from stadspuls.store.posts import load_cursors, recent_fingerprints
from stadspuls.store.writer import Batch, PostWriter, WriteResult

log = logging.getLogger(__name__)


class DoorLike(Protocol):
    """The door as the pipeline uses it (`Door`, or `DoorProcess` in a child process)."""

    def __call__(self, posts: Sequence[Post]) -> list[Post]: ...

    def deletions(self, deletions: Sequence[Deletion]) -> list[Deletion]:
        """The deletions with the stored (keyed) ids of the posts they delete."""
        ...


@dataclass
class PipelineStats:
    batches: int = 0
    received: int = 0
    inserted: int = 0
    already_stored: int = 0
    deleted: int = 0
    tombstoned: int = 0  # posts not stored because their author had deleted them
    failed_batches: int = 0
    rejected: int = 0


@dataclass
class Prepared:
    """A batch after the door: enriched posts plus the deletions, checkpoints and counters."""

    batch: Batch


class Pipeline:
    def __init__(
        self,
        engine: sa.Engine,
        door: DoorLike,
        *,
        on_commit: Callable[[], None] | None = None,
        batch_size: int = 2000,
        batch_seconds: float = 0.5,
    ) -> None:
        self.engine = engine
        self.door = door
        # Called after a commit that stored new posts (wakes the consumers; must not block).
        self.on_commit = on_commit
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self._writer: PostWriter | None = PostWriter(engine)
        self.stats = PipelineStats()
        if isinstance(door, Door):
            self._seed_dedup(door)

    def _seed_dedup(self, door: Door) -> None:
        with contextlib.suppress(KeyError):
            dedup = door.get("dedup")
            if isinstance(dedup, Deduplicator):
                dedup.seed(recent_fingerprints(self.engine, dedup.index.window))

    @property
    def writer(self) -> PostWriter:
        if self._writer is None:
            self._writer = PostWriter(self.engine)
        return self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _reconnect(self) -> None:
        """A new connection for the next write: after a database restart the writer's own
        connection is gone for good (PostWriter holds one; psycopg does not reconnect it)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None

    # Synchronous use (imports, benchmarks, tests) ------------------------------------------

    def enrich(self, items: Iterable[SourceItem], counters: Batch | None = None) -> Prepared:
        batch = counters if counters is not None else Batch()
        raw = list(items)
        posts = [item for item in raw if isinstance(item, Post)]
        deletions = [item for item in raw if isinstance(item, Deletion)]
        for item in raw:
            if not isinstance(item, Post | Deletion):
                batch.add(item)
        # The store never sees a platform id: deletions are keyed like the posts they delete.
        batch.deletions.extend(self.door.deletions(deletions) if deletions else ())
        batch.posts = self.door(posts) if posts else []
        self.stats.received += len(posts)
        return Prepared(batch)

    def write(self, prepared: Prepared) -> WriteResult:
        result = self.writer.write(prepared.batch)
        self.stats.batches += 1
        self.stats.inserted += result.inserted
        self.stats.already_stored += result.already_stored
        self.stats.deleted += result.deleted
        self.stats.tombstoned += result.tombstoned
        if self.on_commit is not None and result.inserted:
            self.on_commit()
        return result

    def process(self, items: Iterable[SourceItem], counters: Batch | None = None) -> WriteResult:
        """Enrich and store one batch (posts, deletions and checkpoints together)."""
        return self.write(self.enrich(items, counters))

    def store(self, prepared: Prepared) -> None:
        """Store a batch; isolate the posts the store rejects and store the rest.

        Nothing is skipped silently: a post that the store itself rejects is logged and counted
        as `rejected`, and the rest of its batch (posts, deletions, checkpoints) is stored. An
        unreachable database (OperationalError) is raised: `run` waits it out, `ingest` stops.
        """
        try:
            self.write(prepared)
            return
        except Exception as error:
            if unavailable(error):
                self._reconnect()
                raise
            self.stats.failed_batches += 1
            log.exception("the store rejected a batch; isolating")
        batch = prepared.batch
        for post in batch.posts:
            try:
                self.write(Prepared(Batch(posts=[post], import_id=batch.import_id)))
            except Exception as error:
                if unavailable(error):
                    self._reconnect()
                    raise
                log.exception("rejected post %s", post.id)
                batch.count(post.source, "rejected")
                self.stats.rejected += 1
        rest = Batch(
            deletions=batch.deletions,
            checkpoints=batch.checkpoints,
            import_id=batch.import_id,
            lanes=batch.lanes,
        )
        rest.counters = batch.counters
        self.write(Prepared(rest))

    def process_all(self, batches: Iterable[tuple[list[SourceItem], Batch | None]]) -> None:
        """Enrich batch k while batch k-1 is stored (in parallel when the door is a process);
        the store's failures are handled as in `run` (see `store`)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="door") as pool:
            previous: Future[Prepared] | None = None
            for items, counters in batches:
                current = pool.submit(self.enrich, items, counters)
                if previous is not None:
                    self.store(previous.result())
                previous = current
            if previous is not None:
                self.store(previous.result())

    # Collecting from live sources -----------------------------------------------------------

    async def run(self, sources: Sequence[Source], stop: asyncio.Event | None = None) -> None:
        """Collect from every source until `stop` is set (or every source is exhausted)."""
        stop = stop or asyncio.Event()
        queue: asyncio.Queue[SourceItem | None] = asyncio.Queue(maxsize=self.batch_size * 4)
        # Two enriched batches in flight at most: the door works ahead of the writer by one.
        prepared: asyncio.Queue[Prepared | None] = asyncio.Queue(maxsize=1)
        cursors = load_cursors(self.engine)
        pumps = [asyncio.create_task(self._pump(s, cursors, queue)) for s in sources]
        done = asyncio.create_task(self._await_pumps(pumps, queue))
        stopper = asyncio.create_task(stop.wait())
        writer = asyncio.create_task(self._write_stage(prepared))
        try:
            await self._door_stage(queue, prepared, sources, stopper)
        finally:
            await prepared.put(None)
            await writer
            for task in (*pumps, done, stopper):
                task.cancel()
            await asyncio.gather(*pumps, done, stopper, return_exceptions=True)

    @staticmethod
    async def _pump(
        source: Source, cursors: dict[str, str], queue: asyncio.Queue[SourceItem | None]
    ) -> None:
        try:
            async for item in source.stream(cursors):
                await queue.put(item)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("source %s stopped with an error", source.name)

    @staticmethod
    async def _await_pumps(
        pumps: Sequence[asyncio.Task[None]], queue: asyncio.Queue[SourceItem | None]
    ) -> None:
        await asyncio.gather(*pumps, return_exceptions=True)
        await queue.put(None)  # every source is exhausted

    async def _door_stage(
        self,
        queue: asyncio.Queue[SourceItem | None],
        prepared: asyncio.Queue[Prepared | None],
        sources: Sequence[Source],
        stopper: asyncio.Task[bool],
    ) -> None:
        pending: list[SourceItem] = []
        reported = {s.name: 0 for s in sources}
        exhausted = False
        while not exhausted and not stopper.done():
            deadline = time.monotonic() + self.batch_seconds
            while len(pending) < self.batch_size:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    break
                if item is None:
                    exhausted = True
                    break
                pending.append(item)
                if stopper.done():
                    break
            if not pending and all(s.stats.malformed == reported[s.name] for s in sources):
                continue
            counters = Batch()
            for source in sources:
                delta = source.stats.malformed - reported[source.name]
                if delta:
                    counters.count(source.name, "malformed", delta)
                    reported[source.name] = source.stats.malformed
            for item in pending:
                if isinstance(item, Post):
                    counters.count(item.source, "received")
            await prepared.put(await self._enrich_safely(pending, counters))
            pending = []

    async def _enrich_safely(self, items: list[SourceItem], counters: Batch) -> Prepared:
        try:
            return await asyncio.to_thread(self.enrich, items, counters)
        except Exception:
            # An enricher failed on this batch: enrich post by post, reject only the culprits.
            log.exception("the door failed on a batch of %d items; isolating", len(items))
            batch = Batch(counters=dict(counters.counters))
            for item in items:
                if isinstance(item, Deletion):
                    batch.deletions.extend(self.door.deletions([item]))
                    continue
                if not isinstance(item, Post):
                    batch.add(item)
                    continue
                try:
                    one = await asyncio.to_thread(self.enrich, [item])
                except Exception:
                    # The post did not pass the door: its id is still the platform's.
                    log.exception("the door rejected a %s post", item.source)
                    batch.count(item.source, "rejected")
                    self.stats.rejected += 1
                    continue
                batch.posts.extend(one.batch.posts)
            return Prepared(batch)

    async def _write_stage(self, prepared: asyncio.Queue[Prepared | None]) -> None:
        while (item := await prepared.get()) is not None:
            await self._store(item)

    async def _store(self, prepared: Prepared) -> None:
        """Store a batch (see `store`); while the database is unreachable the batch is retried
        and the sources wait on the full queues."""
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.store, prepared)
                return
            except Exception as error:
                if not unavailable(error):
                    raise
                log.exception("database unavailable; retrying the batch in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)


def unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached or written now (a restart, a lost
    connection, a locked or full disk), not that it refuses this batch: the batch is retried
    on a new connection instead of being rejected post by post. PostWriter talks to the
    driver directly, so the driver's own errors count, not only SQLAlchemy's."""
    if isinstance(error, sa.exc.OperationalError | sqlite3.OperationalError):
        return True
    psycopg = sys.modules.get("psycopg")  # only where PostgreSQL is in use (loaded already)
    return psycopg is not None and isinstance(
        error, psycopg.OperationalError | psycopg.InterfaceError
    )


# The consumers every process runs, upstream first. A factory gets the engine, the keyed
# pseudonym of a handle (for `@mention` queries) and the settings; it answers None for a
# consumer the settings switch off (no cursor, no thread).
ConsumerFactory = Callable[[sa.Engine, Pseudonymise | None, Settings], Consumer | None]


def _linker(engine: sa.Engine, pseudonymise: Pseudonymise | None, _: Settings) -> Consumer:
    from stadspuls.monitors import MonitorLinker

    return MonitorLinker(engine, pseudonymise=pseudonymise)


def _rollup(engine: sa.Engine, _: Pseudonymise | None, settings: Settings) -> Consumer:
    from stadspuls.enrich.rescoring import scored_upstream
    from stadspuls.rollups import RollupConsumer

    rollup = RollupConsumer(engine)
    rollup.upstream = scored_upstream(settings)  # counts the scores the alerts see
    return rollup


def _accurate(engine: sa.Engine, _: Pseudonymise | None, settings: Settings) -> Consumer | None:
    from stadspuls.enrich.rescoring import AccurateConsumer, accurate_enabled

    return AccurateConsumer(engine, settings.accurate) if accurate_enabled(settings) else None


# Detectors that read no model score (the post's time, text, places and duplicate mark only).
VOLUME_DETECTORS = frozenset({"burst"})


def _detector(name: str) -> ConsumerFactory:
    def factory(engine: sa.Engine, _: Pseudonymise | None, settings: Settings) -> Consumer:
        from stadspuls.detect.consumer import DetectorConsumer
        from stadspuls.enrich.rescoring import scored_upstream

        # A burst is volume alone: it reads no model score, so it never waits for the
        # accurate stage; the detectors that read scores follow that stage when it is on.
        upstream = "linker" if name in VOLUME_DETECTORS else scored_upstream(settings)
        return DetectorConsumer(engine, name, cooldown=settings.alerts.cooldown, upstream=upstream)

    return factory


def _seen_media(engine: sa.Engine, _: Pseudonymise | None, settings: Settings) -> Consumer:
    from stadspuls.media import seen

    return seen.build(engine, settings)


def _publication_responses(
    engine: sa.Engine, _: Pseudonymise | None, settings: Settings
) -> Consumer:
    from stadspuls.publish import responses

    return responses.build(engine, settings)


# The monitors' pre-aggregated counts and every built-in detector, each with its own cursor
# behind the linker's, or behind the accurate stage's when it is on (it rescores the matched
# posts first: enrich/rescoring.py); the responses to our own publications (publish/responses.py).
CONSUMERS: tuple[ConsumerFactory, ...] = (
    _linker,
    _rollup,
    _accurate,
    *(_detector(name) for name in BUILTIN_DETECTORS),
    _publication_responses,
)


def optional_consumers(settings: Settings) -> tuple[ConsumerFactory, ...]:
    """Consumers a setting switches on: the hashes of monitored posts' images for the inbox's
    verification aids (`inbox.fetch_post_media`, off by default: it fetches from platforms).
    Off, they do not run at all (no cursor, no thread)."""
    return (_seen_media,) if settings.inbox.fetch_post_media else ()


@dataclass
class Assembly:
    """Door, writer and consumers of one process. `start()` reads the consumers' cursors and
    starts them (they catch up from there); `close()` stops everything."""

    pipeline: Pipeline
    consumers: Consumers
    door: DoorLike

    def start(self) -> None:
        self.consumers.start()

    def close(self) -> None:
        self.consumers.stop()
        self.pipeline.close()
        if isinstance(self.door, DoorProcess):
            self.door.close()


def build_consumers(
    settings: Settings,
    engine: sa.Engine,
    *,
    pseudonymise: Pseudonymise | None = None,
    consumers: Sequence[ConsumerFactory] | None = None,
    start: Start = "now",
    only: Collection[str] | None = None,
    gate: Callable[[str], bool] | None = None,
) -> Consumers:
    """The consumers (default: `CONSUMERS`) alone: `stadspuls run --no-collect` links what
    another process stores; `stadspuls worker consumers` runs them (or `only` those named, their
    upstreams elsewhere) each while `gate(name)` lets it (see `Consumers`)."""
    made = [
        factory(engine, pseudonymise, settings)
        for factory in (
            (*CONSUMERS, *optional_consumers(settings)) if consumers is None else consumers
        )
    ]
    built = [consumer for consumer in made if consumer is not None]
    if only is not None:
        unknown = sorted(set(only) - {c.name for c in built})
        if unknown:
            known = ", ".join(c.name for c in built)
            raise ValueError(f"no consumer named {', '.join(unknown)} (there are: {known})")
        built = [c for c in built if c.name in only]
    return Consumers(
        engine,
        built,
        chunk=settings.consumer_chunk,
        start=start,
        poll_s=settings.consumer_poll_s,
        upstream_elsewhere=only is not None,
        gate=gate,
    )


def assemble(
    settings: Settings,
    engine: sa.Engine,
    *,
    pseudonymise: Pseudonymise | None = None,
    consumers: Sequence[ConsumerFactory] | None = None,
    door: DoorLike | None = None,
    start: Start = "now",
) -> Assembly:
    """The one builder of door + writer + consumers (`run`, `ingest`, replay, benchmarks)."""
    group = build_consumers(
        settings, engine, pseudonymise=pseudonymise, consumers=consumers, start=start
    )
    door = door if door is not None else start_door(settings)
    pipeline = Pipeline(
        engine,
        door,
        on_commit=group.wake,
        batch_size=settings.batch_size,
        batch_seconds=settings.batch_seconds,
    )
    return Assembly(pipeline, group, door)
