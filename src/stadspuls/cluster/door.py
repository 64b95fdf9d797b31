"""A door worker: reads `{prefix}:items` in the consumer group "door", runs the door
(`enrich.door.build_door`, the enrichers `stadspuls run` uses) and publishes to
`{prefix}:enriched`, acknowledging its inputs in the same MULTI/EXEC.

Run N of them under different names. Each batch's output ends with a `Done` naming every input
sequence it covered, also of posts the door dropped (a language outside `languages`) or gave up
on: the writer's watermark counts on seeing every sequence once.

The near-duplicate memory is not kept here: each worker sees only its share of the posts. The
door fingerprints each post (the costly part, in parallel); the one writer marks duplicates
(docs/decisions/0005-broker.md).

A failing entry (undecodable, or its post fails the door on its own) is left unacknowledged
and counted (`{prefix}:attempts:door`); it comes back after `claim_idle_s` to whichever worker
claims it, and after `max_attempts` failures goes to `{prefix}:dead` with its error, marked
done, counted as "dead" and logged: it never blocks the stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from stadspuls.cluster import messages
from stadspuls.cluster.broker import RETRYABLE, Broker, Entry
from stadspuls.cluster.health import Heartbeat
from stadspuls.cluster.messages import (
    CheckpointMessage,
    CountsMessage,
    DeletionMessage,
    Done,
    MessageError,
    PostMessage,
)
from stadspuls.enrich.door import Door, build_door
from stadspuls.records import Deletion, Post
from stadspuls.settings import Settings

log = logging.getLogger(__name__)

GROUP = "door"
# Consumers (names of workers that exited) holding nothing are forgotten after an hour idle.
FORGET_AFTER_MS = 3_600_000


@dataclass
class _Work:
    """One batch of entries, sorted into what the door gets and what it passes on."""

    ids: list[bytes] = field(default_factory=list)  # entries finished by this batch
    posts: list[tuple[bytes, str, int, Post]] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    checkpoints: list[CheckpointMessage] = field(default_factory=list)
    seqs: dict[str, list[int]] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    dead: list[dict[bytes, bytes]] = field(default_factory=list)
    failed: list[tuple[bytes, dict[bytes, bytes], str]] = field(default_factory=list)

    def done(self, entry_id: bytes, lane: str, seq: int) -> None:
        self.ids.append(entry_id)
        self.seqs.setdefault(lane, []).append(seq)

    def count(self, source: str, counter: str, n: int = 1) -> None:
        self.counters[(source, counter)] = self.counters.get((source, counter), 0) + n


def dead_fields(
    stream: str, entry_id: bytes, fields: dict[bytes, bytes], error: str
) -> dict[bytes, bytes]:
    """A `{prefix}:dead` entry: where it came from, the error, and the entry as it was."""
    out = {b"stream": stream.encode(), b"entry": entry_id, b"error": error.encode()[:2000]}
    out.update({b"f:" + name: value for name, value in fields.items()})
    return out


class DoorWorker:
    def __init__(
        self,
        settings: Settings,
        name: str,
        *,
        door: Door | None = None,
        broker: Broker | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.settings = settings
        self.cluster = settings.cluster
        self.name = name
        self.heartbeat = heartbeat or Heartbeat(self.cluster, "door", name)
        self.broker = broker or Broker(self.cluster, on_error=self.heartbeat.failing)
        self.door = door or build_door(settings, mark_duplicates=False)
        self._own = True  # read our own pending entries first (a restart under this name)
        self._claimed_at = 0.0
        self._trimmed_at = 0.0

    def prepare(self) -> None:
        self.broker.ensure_group(self.broker.items, GROUP)

    def run(self, stop: threading.Event) -> None:
        self.prepare()
        while not stop.is_set():
            self.step()

    def step(self) -> int:
        """Read one batch (own pending first, then long-idle entries of others, then new ones)
        and process it; returns the number of entries read."""
        broker, cluster = self.broker, self.cluster
        self.heartbeat.beat("running")
        entries: list[Entry] = []
        if self._own:
            entries = broker.read(broker.items, GROUP, self.name, cluster.batch, own=True)
            self._own = bool(entries)
        now = time.monotonic()
        if not entries and now - self._claimed_at >= cluster.claim_idle_s / 2:
            self._claimed_at = now
            entries = broker.claim(
                broker.items, GROUP, self.name, int(cluster.claim_idle_s * 1000), cluster.batch
            )
            if entries:
                log.warning("took over %d entries idle > %g s", len(entries), cluster.claim_idle_s)
                self.heartbeat.count("claimed", len(entries))
        if not entries:
            entries = broker.read(
                broker.items, GROUP, self.name, cluster.batch, block_ms=cluster.block_ms
            )
        if entries:
            try:
                self.process(entries)
            except RETRYABLE:
                raise
            except Exception as error:
                # Not an enricher (those are isolated post by post): a bug meeting these
                # entries. Count the attempt; after `max_attempts` they go to the dead stream.
                log.exception("batch of %d entries failed", len(entries))
                self._fail_batch(entries, f"{type(error).__name__}: {error}")
        if now - self._trimmed_at >= cluster.trim_interval_s:
            self._trimmed_at = now
            broker.trim(broker.items)
            broker.forget_idle_consumers(broker.items, GROUP, FORGET_AFTER_MS)
            self.heartbeat.lag = broker.lag(broker.items, GROUP)
        return len(entries)

    def _fail_batch(self, entries: Sequence[Entry], error: str) -> None:
        work = _Work()
        work.failed = [(entry_id, fields, error) for entry_id, fields in entries]
        self._give_up_or_retry(work)
        if work.ids:
            counters = [(s, c, n) for (s, c), n in sorted(work.counters.items()) if n]
            done = {messages.BODY: messages.encode(Done(seqs=work.seqs, counters=counters))}
            self.broker.publish_and_ack(
                self.broker.enriched, [done], self.broker.items, GROUP, work.ids, dead=work.dead
            )

    # One batch --------------------------------------------------------------------------------

    def process(self, entries: Sequence[Entry]) -> None:
        work = _Work()
        for entry_id, fields in entries:
            self._sort(work, entry_id, fields)
        out: list[dict[bytes, bytes]] = []
        if work.deletions:
            keyed = self.door.deletions(work.deletions)
            out.extend({messages.BODY: messages.encode(DeletionMessage(d))} for d in keyed)
        for post in self._enrich(work):
            out.append({messages.BODY: messages.encode(PostMessage(post))})
        for checkpoint in work.checkpoints:
            out.append({messages.BODY: messages.encode(checkpoint)})
        self._give_up_or_retry(work)
        if work.seqs:
            counters = [(s, c, n) for (s, c), n in sorted(work.counters.items()) if n]
            done = Done(seqs=work.seqs, counters=counters)
            out.append({messages.BODY: messages.encode(done)})
        broker = self.broker
        broker.publish_and_ack(broker.enriched, out, broker.items, GROUP, work.ids, dead=work.dead)
        self.heartbeat.count("entries", len(work.ids))
        self.heartbeat.count("posts", len(work.posts))

    def _sort(self, work: _Work, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            lane, seq = messages.item_position(fields)
        except MessageError as error:
            # Without a lane there is no sequence to mark: nothing waits for this entry.
            log.error("entry %s has no lane/sequence (%s): to the dead stream", entry_id, error)
            work.ids.append(entry_id)
            work.dead.append(dead_fields(self.broker.items, entry_id, fields, str(error)))
            self.heartbeat.count("dead")
            return
        try:
            message = messages.decode_item(fields)
        except MessageError as error:
            work.failed.append((entry_id, fields, str(error)))
            return
        if isinstance(message, PostMessage):
            work.posts.append((entry_id, lane, seq, message.post))
            work.count(message.post.source, "received")
            return
        if isinstance(message, DeletionMessage):
            work.deletions.append(message.deletion)
        elif isinstance(message, CheckpointMessage):
            work.checkpoints.append(CheckpointMessage(message.checkpoint, lane=lane, seq=seq))
        elif isinstance(message, CountsMessage):
            for counter, n in message.counters.items():
                work.count(message.source, counter, n)
        work.done(entry_id, lane, seq)

    def _enrich(self, work: _Work) -> list[Post]:
        """The door over the batch's posts; when it fails, post by post, so that only the
        culprits fail. Every post's sequence is done unless its post failed."""
        if not work.posts:
            return []
        try:
            enriched = self.door([post for _, _, _, post in work.posts])
        except Exception:
            log.exception("the door failed on a batch of %d posts; isolating", len(work.posts))
        else:
            for entry_id, lane, seq, _ in work.posts:
                work.done(entry_id, lane, seq)
            return enriched
        out = []
        for entry_id, lane, seq, post in work.posts:
            try:
                out.extend(self.door([post]))
            except Exception as error:
                fields = {
                    messages.LANE: lane.encode(),
                    messages.SEQ: str(seq).encode(),
                    messages.BODY: messages.encode(PostMessage(post)),
                }
                work.failed.append((entry_id, fields, f"{type(error).__name__}: {error}"))
                work.count(post.source, "received", -1)  # counted when it is done
                continue
            work.done(entry_id, lane, seq)
        return out

    def _give_up_or_retry(self, work: _Work) -> None:
        if not work.failed:
            return
        broker = self.broker
        attempts = broker.failed_attempt(GROUP, [entry_id for entry_id, _, _ in work.failed])
        for entry_id, fields, error in work.failed:
            tries = attempts[entry_id]
            if tries < self.cluster.max_attempts:
                log.warning(
                    "entry %s failed (%s), attempt %d of %d; left for a retry",
                    entry_id, error, tries, self.cluster.max_attempts,
                )  # fmt: skip
                self.heartbeat.count("failed")
                continue
            work.dead.append(dead_fields(broker.items, entry_id, fields, error))
            try:
                lane, seq = messages.item_position(fields)
            except MessageError:
                work.ids.append(entry_id)  # nothing to mark done
                self.heartbeat.count("dead")
                continue
            log.error(
                "entry %s failed %d times (%s): to %s, marked done", entry_id, tries, error,
                broker.dead,
            )  # fmt: skip
            work.done(entry_id, lane, seq)
            source = _source_of(fields)
            work.count(source, "dead")
            self.heartbeat.count("dead")


def _source_of(fields: dict[bytes, bytes]) -> str:
    try:
        message = messages.decode_item(fields)
    except MessageError:
        return "unknown"
    return message.post.source if isinstance(message, PostMessage) else "unknown"


def run_door(settings: Settings, *, name: str) -> None:
    """`stadspuls worker door`: until SIGTERM/SIGINT."""
    from stadspuls.cluster.process import serve

    worker = DoorWorker(settings, name)
    log.info("door worker %s: loading the door's models", name)
    worker.door.warm_up()
    serve(worker.heartbeat, worker.broker, settings.cluster, worker.run)
