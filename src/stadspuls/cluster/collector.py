"""The collector: runs sources (the same Source classes `stadspuls run` builds) and publishes
what they yield to `{prefix}:items`.

Each source is a lane of this run ("{collector}/{source}.{index}/{run}", see `cluster.messages`):
its items are numbered in the order it yields them. A checkpoint is published after the items
it covers; several checkpoints of one stream within a batch collapse into the last one (it
covers all the others). The source starts from the cursors the writer stored, so a restarted
collector resumes behind what is stored; what it publishes again is stored once.

While the door workers and the writer are more than `max_backlog` entries behind, the
collector waits (a replay runs as fast as the rest can take it, not as fast as it can read).
When the broker is away it retries the batch (an XADD that went in before the break may go in
twice: the writer stores each post once).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from stadspuls.cluster import messages
from stadspuls.cluster.broker import Broker
from stadspuls.cluster.door import GROUP as DOOR_GROUP
from stadspuls.cluster.health import Heartbeat
from stadspuls.cluster.messages import CheckpointMessage, CountsMessage, ItemMessage
from stadspuls.cluster.writer import GROUP as WRITER_GROUP
from stadspuls.records import Checkpoint, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import Source
from stadspuls.sources.status import StreamStatus
from stadspuls.store.database import open_store
from stadspuls.store.posts import load_cursors
from stadspuls.store.status import save_status

log = logging.getLogger(__name__)

# How long a source's items wait for more before they are published as a batch.
BATCH_SECONDS = 0.05
# How often the streams' states are stored (`source_status`).
STATUS_INTERVAL_S = 5.0


class Lane:
    """One source of this collector run: numbers its items and batches them."""

    def __init__(self, collector: str, source: Source, run: str, index: int = 0) -> None:
        self.source = source
        # Several sources may share a name (two feeds are both "rss"): the index tells them
        # apart, so that no two lanes ever number into one sequence.
        self.name = f"{collector}/{source.name}.{index}/{run}"
        self.seq = 0
        self.items: list[ItemMessage] = []
        self.checkpoints: dict[str, Checkpoint] = {}
        self.malformed = 0  # the source's malformed count already published
        # A source that names no streams of its own gets one status row, as in `run`.
        self.own: StreamStatus | None = None
        if not source.stats.streams:
            self.own = source.stats.stream(str(getattr(source, "stream_name", source.name)))

    def add(self, item: SourceItem) -> None:
        if isinstance(item, Checkpoint):
            # The later checkpoint of a stream covers the earlier: keep one, after the items.
            self.checkpoints.pop(item.stream, None)
            self.checkpoints[item.stream] = item
        else:
            self.items.append(messages.wrap(item))

    def __len__(self) -> int:
        return len(self.items) + len(self.checkpoints)

    def take(self) -> list[dict[bytes, bytes]]:
        """The entries of the batch so far, numbered; the batch starts empty again."""
        batch: list[ItemMessage] = [*self.items]
        batch.extend(CheckpointMessage(c) for c in self.checkpoints.values())
        malformed = self.source.stats.malformed - self.malformed
        if malformed:
            batch.insert(0, CountsMessage(self.source.name, {"malformed": malformed}))
            self.malformed += malformed
        self.items, self.checkpoints = [], {}
        entries = []
        for message in batch:
            self.seq += 1
            entries.append(messages.item_fields(self.name, self.seq, message))
        return entries


class Collector:
    def __init__(
        self,
        settings: Settings,
        name: str,
        sources: Sequence[Source],
        *,
        engine: sa.Engine | None = None,
        broker: Broker | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.settings = settings
        self.cluster = settings.cluster
        self.name = name
        self.sources = list(sources)
        self.heartbeat = heartbeat or Heartbeat(self.cluster, "collector", name)
        self.broker = broker or Broker(self.cluster, on_error=self.heartbeat.failing)
        self.engine = engine or open_store(settings.db_url)
        # A new run numbers from 1 again, under a new lane name.
        self.run_id = f"{int(time.time() * 1000)}-{os.getpid()}"
        self.published = 0
        self.failed: list[str] = []  # sources that stopped with an error
        self._checked_at = 0.0
        self._checked_published = 0
        self._full = False  # the stages behind were `max_backlog` entries behind at the check
        self._stopped = asyncio.Event()  # replaced by run(); set when the collector stops

    def prepare(self) -> dict[str, str]:
        broker = self.broker
        # The groups exist before the first entry: nothing published is missed.
        broker.ensure_group(broker.items, DOOR_GROUP)
        broker.ensure_group(broker.enriched, WRITER_GROUP)
        return load_cursors(self.engine)

    async def run(self, stop: threading.Event | None = None) -> None:
        """Until every source is exhausted (a replay) or `stop` is set."""
        cursors = await asyncio.to_thread(self.prepare)
        stopped = self._stopped = asyncio.Event()
        watch = asyncio.create_task(_watch(stop, stopped))
        status = asyncio.create_task(self._status_loop())
        tasks = [
            asyncio.create_task(
                self._pump(Lane(self.name, source, self.run_id, index), cursors, stopped)
            )
            for index, source in enumerate(self.sources)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            stopped.set()
            for task in (*tasks, watch, status):
                task.cancel()
            await asyncio.gather(*tasks, watch, status, return_exceptions=True)
            await asyncio.to_thread(self.save_status)

    async def _pump(self, lane: Lane, cursors: dict[str, str], stopped: asyncio.Event) -> None:
        log.info("collecting from %s as lane %s", lane.source.name, lane.name)
        items = lane.source.stream(cursors).__aiter__()
        next_item: asyncio.Future[SourceItem] | None = None
        deadline = time.monotonic() + BATCH_SECONDS
        try:
            while not stopped.is_set():
                if next_item is None:
                    next_item = asyncio.ensure_future(items.__anext__())
                timeout = max(0.0, deadline - time.monotonic())
                done, _ = await asyncio.wait({next_item}, timeout=timeout)
                if next_item in done:
                    finished, next_item = next_item, None
                    try:
                        lane.add(finished.result())
                    except StopAsyncIteration:
                        break
                if len(lane) >= self.cluster.batch or time.monotonic() >= deadline:
                    await self._publish(lane)
                    deadline = time.monotonic() + BATCH_SECONDS
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("source %s stopped with an error", lane.source.name)
            self.heartbeat.failing(f"source {lane.source.name}: {error}")
            self.failed.append(lane.source.name)
            for stream in lane.source.stats.streams.values():
                stream.failed(error)
        finally:
            if next_item is not None:
                next_item.cancel()
        await self._publish(lane)  # what the source yielded before it ended
        for stream in lane.source.stats.streams.values():
            if stream.state != "failed":
                stream.stopped()
        log.info("%s: %d items published in lane %s", lane.source.name, lane.seq, lane.name)

    def save_status(self) -> None:
        """Each stream's state for `stadspuls sources list` and the dashboard's /health, as
        `stadspuls run` stores it (`source_status`)."""
        rows = [st.row() for source in self.sources for st in source.stats.streams.values()]
        try:
            save_status(self.engine, rows)
        except sa.exc.SQLAlchemyError as error:
            log.warning("could not store the source status: %s", error)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            await asyncio.to_thread(self.save_status)

    async def _publish(self, lane: Lane) -> None:
        self.heartbeat.beat("running")
        if not len(lane) and lane.source.stats.malformed == lane.malformed:
            return
        await self._wait_for_room()
        entries = lane.take()
        await asyncio.to_thread(self.broker.publish, self.broker.items, entries)
        if lane.own is not None:
            lane.own.succeeded()
        self.published += len(entries)
        self.heartbeat.count("published", len(entries))

    async def _wait_for_room(self) -> None:
        """Wait while the stages behind are `max_backlog` entries behind (checked every
        0.2 s, and every tenth of `max_backlog` entries published: a fast replay overshoots
        by at most that)."""
        while True:
            if self._stopped.is_set():
                # Stopping: hand over what was collected (a batch at most) and exit, rather
                # than wait on stages that may never drain while SIGTERM goes unanswered.
                return
            now = time.monotonic()
            unchecked = self.published - self._checked_published
            if (
                not self._full
                and now - self._checked_at < 0.2
                and unchecked < self.cluster.max_backlog // 10
            ):
                return
            self._checked_at, self._checked_published = now, self.published
            backlog = await asyncio.to_thread(self.backlog)
            self.heartbeat.lag = backlog
            self._full = backlog >= self.cluster.max_backlog
            if not self._full:
                return
            self.heartbeat.beat("waiting")
            await asyncio.sleep(0.2)

    def backlog(self) -> int:
        broker = self.broker
        items = broker.lag(broker.items, DOOR_GROUP) or 0
        enriched = broker.lag(broker.enriched, WRITER_GROUP) or 0
        return items + enriched


async def _watch(stop: threading.Event | None, stopped: asyncio.Event) -> None:
    """Set `stopped` when `stop` (set by a signal handler) is."""
    if stop is None:
        return
    while not stop.is_set():
        await asyncio.sleep(0.1)
    stopped.set()


def build_sources(settings: Settings, jetstream_file: Path | None) -> list[Source]:
    if jetstream_file is not None:
        from stadspuls.sources.replay import ReplaySource

        # The recording's lines go through sources.jetstream.map_event, as live frames do.
        return [ReplaySource(jetstream_file, speed=0, format="jetstream")]
    from stadspuls.sources.registry import build_sources as configured

    return list(configured(settings))


def run_collector(settings: Settings, *, name: str, jetstream_file: Path | None = None) -> None:
    """`stadspuls worker collector`: until the sources end (a replay) or SIGTERM/SIGINT."""
    from stadspuls.cluster.process import serve

    sources = build_sources(settings, jetstream_file)
    if not sources:
        raise SystemExit("no sources configured (settings: bluesky, mastodon, feeds)")
    collector = Collector(settings, name, sources)

    def loop(stop: threading.Event) -> None:
        asyncio.run(collector.run(stop))

    try:
        serve(collector.heartbeat, collector.broker, settings.cluster, loop)
    finally:
        collector.engine.dispose()
    if collector.failed:
        # A service manager restarts it: the sources resume from the stored cursors.
        raise SystemExit(f"sources stopped with an error: {', '.join(collector.failed)}")
