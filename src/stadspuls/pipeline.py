"""The one place that knows the order of the stages: sources → door → store → sinks.

Each stage takes records and returns records, with its state explicit (the door's enrichers,
the writer's connection, the cursors in the store), so a broker can later sit between stages
without a rewrite. Here they run in one process: sources are asyncio tasks feeding a bounded
queue; batches go through the door and the writer in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from stadspuls.enrich.dedup import Deduplicator
from stadspuls.enrich.door import Door
from stadspuls.records import Post, SourceItem
from stadspuls.sources.base import Source
from stadspuls.store.posts import Batch, PostWriter, WriteResult, load_cursors, recent_fingerprints

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Post]], None]


@dataclass
class PipelineStats:
    batches: int = 0
    received: int = 0
    inserted: int = 0
    already_stored: int = 0
    deleted: int = 0
    failed_batches: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self,
        engine: sa.Engine,
        door: Door,
        *,
        sinks: Sequence[Sink] = (),
        batch_size: int = 2000,
        batch_seconds: float = 0.5,
    ) -> None:
        self.engine = engine
        self.door = door
        self.sinks = list(sinks)
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.writer = PostWriter(engine)
        self.stats = PipelineStats()
        self._seed_dedup()

    def _seed_dedup(self) -> None:
        with contextlib.suppress(KeyError):
            dedup = self.door.get("dedup")
            if isinstance(dedup, Deduplicator):
                dedup.seed(recent_fingerprints(self.engine, dedup.index.window))

    def close(self) -> None:
        self.writer.close()

    def process(self, items: Iterable[SourceItem], counters: Batch | None = None) -> WriteResult:
        """Enrich and store one batch synchronously (posts, deletions and checkpoints together)."""
        batch = counters if counters is not None else Batch()
        raw_posts: list[Post] = []
        for item in items:
            if isinstance(item, Post):
                raw_posts.append(item)
            else:
                batch.add(item)
        batch.posts = self.door(raw_posts) if raw_posts else []
        result = self.writer.write(batch)
        self.stats.batches += 1
        self.stats.received += len(raw_posts)
        self.stats.inserted += result.inserted
        self.stats.already_stored += result.already_stored
        self.stats.deleted += result.deleted
        if self.sinks and result.inserted:
            fresh = set(result.inserted_ids)
            stored = [p for p in batch.posts if p.id in fresh]
            for sink in self.sinks:
                sink(stored)
        return result

    async def run(self, sources: Sequence[Source], stop: asyncio.Event | None = None) -> None:
        """Collect from every source until `stop` is set (or every source is exhausted)."""
        stop = stop or asyncio.Event()
        queue: asyncio.Queue[SourceItem | None] = asyncio.Queue(maxsize=self.batch_size * 4)
        cursors = load_cursors(self.engine)
        pumps = [asyncio.create_task(self._pump(s, cursors, queue)) for s in sources]
        done = asyncio.create_task(self._await_pumps(pumps, queue))
        stopper = asyncio.create_task(stop.wait())
        try:
            await self._consume(queue, sources, stopper)
        finally:
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

    async def _consume(
        self,
        queue: asyncio.Queue[SourceItem | None],
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
            if pending or any(s.stats.malformed != reported[s.name] for s in sources):
                counters = Batch()
                for source in sources:
                    delta = source.stats.malformed - reported[source.name]
                    if delta:
                        counters.count(source.name, "malformed", delta)
                        reported[source.name] = source.stats.malformed
                for item in pending:
                    if isinstance(item, Post):
                        counters.count(item.source, "received")
                await self._store(pending, counters)
                pending = []

    async def _store(self, items: list[SourceItem], counters: Batch) -> None:
        """Store a batch; wait out an unreachable database; isolate posts the store rejects.

        Nothing is skipped silently: while the database is unreachable the batch is retried
        (and the sources wait on the full queue); a post that the store itself rejects is
        logged and counted as `rejected`, and the rest of its batch is stored.
        """
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.process, items, counters)
                return
            except sa.exc.OperationalError:
                log.exception("database unavailable; retrying the batch in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except Exception:
                self.stats.failed_batches += 1
                log.exception("the store rejected a batch of %d items; isolating", len(items))
                break
        rest: list[SourceItem] = []
        for item in items:
            if not isinstance(item, Post):
                rest.append(item)
                continue
            try:
                await asyncio.to_thread(self.process, [item])
            except Exception:
                log.exception("rejected post %s", item.id)
                counters.count(item.source, "rejected")
        await asyncio.to_thread(self.process, rest, counters)
