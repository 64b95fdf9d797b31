"""The writer: reads `{prefix}:enriched` in the consumer group "writer", stores each batch in
one transaction with `store.writer.PostWriter` (through `Pipeline.store`, as `stadspuls run`
does), and only after the commit acknowledges the entries.

Exactly-once effects on at-least-once delivery:
- posts: INSERT … ON CONFLICT (id) DO NOTHING, and a post with a tombstone is never stored
  (a deletion that overtook its post is honoured);
- done marks: each lane's watermark and its done sequences above it (`cluster_lanes`) are
  stored in the same transaction; a `Done` whose sequences are all done already is a
  redelivery, and its counters are not added again;
- checkpoints: held until their lane's watermark reaches them, then stored in the transaction
  that moves the watermark there, so a source's cursor never passes an unstored post.

Near-duplicates are marked here, over every post whichever door worker enriched it
(`Deduplicator.mark`, seeded from the store at start), before the batch is written.

One writer is active: it holds a PostgreSQL session advisory lock; another instance waits as a
standby and takes over when the lock is free (its holder died). Taking over, it claims every
entry pending in the group (only a writer that held the lock can have read them). When the
database goes away (a restart), the batch is not retried from memory: the writer reconnects,
takes the lock again, reloads its lanes and re-reads its pending entries, so the uncommitted
batch is redone from the broker.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from stadspuls.cluster import messages
from stadspuls.cluster.broker import Broker, Entry
from stadspuls.cluster.door import FORGET_AFTER_MS, dead_fields
from stadspuls.cluster.health import Heartbeat
from stadspuls.cluster.messages import (
    CheckpointMessage,
    DeletionMessage,
    Done,
    MessageError,
    PostMessage,
)
from stadspuls.cluster.watermark import Lane
from stadspuls.enrich.dedup import Deduplicator
from stadspuls.pipeline import Pipeline, Prepared, unavailable
from stadspuls.records import Post, utcnow
from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from stadspuls.store.imports import DAY_US
from stadspuls.store.posts import recent_fingerprints
from stadspuls.store.rows import to_us
from stadspuls.store.writer import Batch

log = logging.getLogger(__name__)

GROUP = "writer"
# The session advisory lock of the active writer ("STADSW"); PostWriter's per-transaction
# lock is another key.
WRITER_LOCK = 0x5354_4144_5357
LANE_KEEP_DAYS = 7


class _NoDoor:
    """The writer's pipeline only stores: its posts passed a door worker already."""

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        raise RuntimeError("the cluster writer does not enrich")

    def deletions(self, deletions: Sequence[Any]) -> list[Any]:
        raise RuntimeError("the cluster writer does not enrich")


class LostDatabase(Exception):
    """The database went away mid-batch: reconnect and redo from the broker."""


class ClusterWriter:
    def __init__(
        self,
        settings: Settings,
        name: str,
        *,
        broker: Broker | None = None,
        heartbeat: Heartbeat | None = None,
        engine: sa.Engine | None = None,
    ) -> None:
        self.settings = settings
        self.cluster = settings.cluster
        self.name = name
        self.heartbeat = heartbeat or Heartbeat(self.cluster, "writer", name)
        self.broker = broker or Broker(self.cluster, on_error=self.heartbeat.failing)
        self.engine = engine or open_store(settings.db_url)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.dedup = Deduplicator(window=settings.dedup_window)
        self.lanes: dict[str, Lane] = {}
        self.pipeline: Pipeline | None = None
        self._lock_conn: Any = None
        self._own = True
        self._trimmed_at = 0.0
        self.batches = 0

    # Becoming the active writer ---------------------------------------------------------------

    def acquire(self, stop: threading.Event) -> bool:
        """Wait (as a standby) until this process holds the writer lock; False if stopped."""
        if not self.postgres:
            return True  # SQLite: one file, one writer (BEGIN IMMEDIATE); no standby
        waited = False
        while not stop.is_set():
            try:
                conn = self.engine.raw_connection()
                cur = conn.cursor()
                cur.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,))
                row = cur.fetchone()
                cur.close()
            except Exception as error:
                if not unavailable(error):
                    raise
                self.heartbeat.failing(f"database unavailable: {error}")
                stop.wait(1.0)
                continue
            if row is not None and row[0]:
                conn.commit()  # the lock is the session's, not the transaction's
                self._lock_conn = conn
                if waited:
                    log.warning("writer %s: the writer lock is free; taking over", self.name)
                return True
            conn.close()
            if not waited:
                log.warning("writer %s: another writer is active; waiting as a standby", self.name)
            waited = True
            self.heartbeat.failing(None)
            self.heartbeat.beat("standby")
            stop.wait(1.0)
        return False

    def release(self) -> None:
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                self._lock_conn.close()  # closing the session frees its advisory lock
            self._lock_conn = None
        if self.pipeline is not None:
            with contextlib.suppress(Exception):
                self.pipeline.close()
            self.pipeline = None

    def start(self) -> None:
        """Having the lock: read the lanes and the recent fingerprints, take over whatever a
        previous writer left pending, and open the store's writer."""
        broker = self.broker
        broker.ensure_group(broker.enriched, GROUP)
        self.lanes = self._load_lanes()
        self.dedup = Deduplicator(window=self.settings.dedup_window)
        self.dedup.seed(recent_fingerprints(self.engine, self.dedup.index.window))
        self.pipeline = Pipeline(
            self.engine, _NoDoor(), batch_size=self.cluster.batch, batch_seconds=0
        )
        taken = broker.claim_all(broker.enriched, GROUP, self.name)
        if taken:
            log.warning("writer %s: took over %d pending entries", self.name, taken)
            self.heartbeat.count("claimed", taken)
        self._own = True
        self.heartbeat.failing(None)
        self.heartbeat.beat("active")

    def _load_lanes(self) -> dict[str, Lane]:
        """The lanes, after forgetting finished ones: every collector run leaves one, and a
        lane with nothing above its watermark, untouched for `LANE_KEEP_DAYS`, belongs to a
        run whose entries are long written."""
        cutoff = to_us(utcnow()) - LANE_KEEP_DAYS * DAY_US
        with self.engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM cluster_lanes WHERE updated_us < :cutoff AND state = :empty"),
                {"cutoff": cutoff, "empty": Lane().dumps()},
            )
            rows = conn.execute(sa.text("SELECT lane, watermark, state FROM cluster_lanes"))
            return {lane: Lane.loads(int(mark), state) for lane, mark, state in rows}

    # The loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.acquire(stop):
                return
            try:
                self.start()
                while not stop.is_set():
                    self.step()
            except Exception as error:
                if not (isinstance(error, LostDatabase) or unavailable(error)):
                    raise
                log.warning("writer %s: %s; reconnecting", self.name, error)
                self.heartbeat.failing(str(error))
                stop.wait(0.5)
            finally:
                self.release()

    def step(self) -> int:
        broker, cluster = self.broker, self.cluster
        self.heartbeat.beat("active")
        entries: list[Entry] = []
        if self._own:
            entries = broker.read(broker.enriched, GROUP, self.name, cluster.batch, own=True)
            self._own = bool(entries)
        if not entries:
            entries = broker.read(
                broker.enriched, GROUP, self.name, cluster.batch, block_ms=cluster.block_ms
            )
        if entries:
            self.write(entries)
        now = time.monotonic()
        if now - self._trimmed_at >= cluster.trim_interval_s:
            self._trimmed_at = now
            broker.trim(broker.enriched)
            broker.forget_idle_consumers(broker.enriched, GROUP, FORGET_AFTER_MS)
            self.heartbeat.lag = broker.lag(broker.enriched, GROUP)
        return len(entries)

    def write(self, entries: Sequence[Entry]) -> None:
        """Store one batch of entries, then acknowledge them."""
        batch = Batch()
        lanes: dict[str, Lane] = {}  # working copies; kept only once the commit succeeded
        posts: list[Post] = []
        dead: list[dict[bytes, bytes]] = []

        def lane(name: str) -> Lane:
            if name not in lanes:
                lanes[name] = self.lanes[name].copy() if name in self.lanes else Lane()
            return lanes[name]

        for entry_id, fields in entries:
            try:
                message = messages.decode_enriched(fields)
            except MessageError as error:
                # Only a door worker of another version writes what this one cannot read.
                log.error("entry %s: %s; to the dead stream", entry_id, error)
                dead.append(dead_fields(self.broker.enriched, entry_id, fields, str(error)))
                continue
            if isinstance(message, PostMessage):
                posts.append(message.post)
            elif isinstance(message, DeletionMessage):
                batch.deletions.append(message.deletion)
            elif isinstance(message, CheckpointMessage):
                lane(message.lane).hold(message.seq, *_checkpoint(message))
            elif isinstance(message, Done):
                self._done(message, lane, batch)
        for name, state in lanes.items():
            batch.checkpoints.update(state.release())
            batch.lanes[name] = (state.watermark, state.dumps())
        batch.posts = self.dedup.mark(posts)
        self._store(batch)
        self.lanes.update(lanes)
        ids = [entry_id for entry_id, _ in entries]
        if dead:
            self.broker.publish(self.broker.dead, dead)
            self.heartbeat.count("dead", len(dead))
        self.broker.ack(self.broker.enriched, GROUP, ids)
        self.batches += 1
        self.heartbeat.count("entries", len(ids))
        self.heartbeat.count("posts", len(posts))

    @staticmethod
    def _done(message: Done, lane: Any, batch: Batch) -> None:
        new = sum(lane(name).mark(seqs) for name, seqs in message.seqs.items())
        if new:
            # A redelivered Done marks nothing new: its counters were added with it.
            for source, counter, n in message.counters:
                batch.count(source, counter, n)

    def _still_holding(self) -> None:
        """The lock's session is alive (else a standby may have taken over): one round trip
        per batch, so that a writer whose lock connection alone was dropped stops writing."""
        if self._lock_conn is None:
            return
        try:
            cur = self._lock_conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchone()
            cur.close()
            self._lock_conn.commit()
        except Exception as error:
            raise LostDatabase(f"the writer lock's connection is gone: {error}") from error

    def _store(self, batch: Batch) -> None:
        assert self.pipeline is not None
        self._still_holding()
        try:
            self.pipeline.store(Prepared(batch))
        except Exception as error:
            if unavailable(error):
                raise LostDatabase(f"database unavailable: {error}") from error
            raise


def _checkpoint(message: CheckpointMessage) -> tuple[str, str]:
    return message.checkpoint.stream, message.checkpoint.cursor


def run_writer(settings: Settings, *, name: str) -> None:
    """`stadspuls worker writer`: until SIGTERM/SIGINT."""
    from stadspuls.cluster.process import serve

    writer = ClusterWriter(settings, name)
    try:
        serve(writer.heartbeat, writer.broker, settings.cluster, writer.run)
    finally:
        writer.release()
        writer.engine.dispose()
