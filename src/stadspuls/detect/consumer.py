"""A detector as a consumer of stored posts: "detector:NAME", downstream of the monitor linker.

Each chunk of linked posts goes through the detector with the monitors each post matched (and
that enable the detector); the signals are folded into alerts, and the stories saved, in the
transaction that moves the consumer's cursor: every alert effect happens once.

The detector's state (baselines, stories) of 1,000 monitors is megabytes, too much to write with
every chunk. It is checkpointed every `checkpoint_s` seconds (or `checkpoint_posts` posts)
together with the pk it belongs to; the chunks between two checkpoints only move the cursor.
After a failure or a restart the detector restores the last checkpoint and replays the posts
from there to its cursor with their effects discarded (those are already committed): detectors
are deterministic functions of their input in event time, so it ends in the state it had.
Posts deleted meanwhile are not replayed: the state then differs by those posts, which would
have counted in a baseline and no more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import msgspec
import sqlalchemy as sa

from stadspuls.alerts.book import COOLDOWN
from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.registry import build
from stadspuls.records import Post, Signal
from stadspuls.store import consumers as cursors
from stadspuls.store.alert_rules import load_rules
from stadspuls.store.alerts import record_signals
from stadspuls.store.consumers import UNCHANGED, Unchanged
from stadspuls.store.monitors import links_for, monitors_version
from stadspuls.store.stories import save_stories

log = logging.getLogger(__name__)

REPLAY_CHUNK = 5000


class Checkpoint(msgspec.Struct, frozen=True):
    pk: int  # the state is the detector's after the post with this pk
    state: bytes


class DetectorConsumer:
    upstream: str | None = "linker"

    def __init__(
        self,
        engine: sa.Engine,
        detector: str,
        *,
        cooldown: timedelta = COOLDOWN,
        checkpoint_s: float = 30.0,
        checkpoint_posts: int = 50_000,
        upstream: str = "linker",
    ) -> None:
        """`upstream`: "accurate" when the accurate stage rescores the linked posts first."""
        self.engine = engine
        self.upstream = upstream
        self.detector_name = detector
        self.name = f"detector:{detector}"
        self.cooldown = cooldown
        self.checkpoint_s = checkpoint_s
        self.checkpoint_posts = checkpoint_posts
        self.detector: Detector = build(detector)
        self._rules: dict[int, Rule] = {}
        self._rules_version: tuple[int, int] | None = None
        self._since_checkpoint = 0
        self._checkpoint_at = time.monotonic()
        self._checkpointed = False  # whether a checkpoint is stored (the first chunk writes one)
        self.signals = 0  # raised since start (a counter for benchmarks and logs)

    # -- the consumer contract ----------------------------------------------------------------

    def load(self, state: bytes | None) -> None:
        self.detector = build(self.detector_name)
        self._rules_version = None
        checkpoint = None if state is None else msgspec.msgpack.decode(state, type=Checkpoint)
        self._checkpointed = checkpoint is not None
        if checkpoint is not None:
            self.detector.restore(checkpoint.state)
        with self.engine.connect() as conn:
            found = cursors.read_cursor(conn, self.name)
            if checkpoint is None or found is None:
                self._since_checkpoint = 0
                self._checkpoint_at = time.monotonic()
                return
            replayed = self._replay(conn, checkpoint.pk, found[0])
        self._since_checkpoint = replayed
        self._checkpoint_at = time.monotonic()
        if replayed:
            log.info("%s: replayed %d posts after its checkpoint", self.name, replayed)

    def consume(
        self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]
    ) -> bytes | Unchanged | None:
        signals = self._observe(conn, rows)
        stories = self.detector.stories()
        self._since_checkpoint += len(rows)
        state: bytes | Unchanged = UNCHANGED
        if (
            not self._checkpointed
            or self._since_checkpoint >= self.checkpoint_posts
            or time.monotonic() - self._checkpoint_at >= self.checkpoint_s
        ):
            state = msgspec.msgpack.encode(Checkpoint(rows[-1][0], self.detector.snapshot()))
        # Compute first, write last: on SQLite the write lock is held from the first write.
        if signals:
            record_signals(conn, signals, cooldown=self.cooldown)
        if stories:
            save_stories(conn, stories)
        if state is not UNCHANGED:
            # A failure of this transaction reloads the consumer, which resets these.
            self._checkpointed = True
            self._since_checkpoint = 0
            self._checkpoint_at = time.monotonic()
        self.signals += len(signals)
        return state

    # -- internals ------------------------------------------------------------------------------

    def _observe(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> list[Signal]:
        rules = self._current_rules(conn)
        links = links_for(conn, [pk for pk, _ in rows])
        observe = self.detector.observe
        signals: list[Signal] = []
        for pk, post in rows:
            found = links.get(pk)
            watching = {m: rules[m] for m in found if m in rules} if found else {}
            signals.extend(observe(post, watching))
        return signals

    def _current_rules(self, conn: sa.Connection) -> dict[int, Rule]:
        version = monitors_version(conn)  # a rule change updates its monitor too
        if version != self._rules_version:
            fresh = load_rules(conn).get(self.detector_name, {})
            for gone in self._rules.keys() - fresh.keys():
                self.detector.forget(gone)  # deleted, deactivated or switched off
            self._rules, self._rules_version = fresh, version
        return self._rules

    def _replay(self, conn: sa.Connection, after: int, upto: int) -> int:
        replayed = 0
        while after < upto:
            rows = cursors.posts_after(conn, after, REPLAY_CHUNK, upto_pk=upto)
            if not rows:
                break
            self._observe(conn, rows)  # the signals were committed before the crash
            self.detector.stories()
            replayed += len(rows)
            after = rows[-1][0]
        return replayed
