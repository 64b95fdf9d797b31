"""The Detector interface: one small contract for every weak-signal detector.

A detector sees every stored post once, in the order the store assigned (close to time order;
a replay or backtest feeds strict time order), together with the monitors that matched it and
enabled this detector. It keeps its state per monitor in memory, emits a `Signal` for each post
that finds a monitor in an abnormal state, and can serialise that state (`snapshot`) and get it
back (`restore`) so that a restart continues where it stopped. Time is event time: the posts'
`created_at`, never the wall clock, so replaying last year behaves as last year did.

Built-in detectors are listed in `registry.py`, the same door third-party detectors use (entry
point group `stadspuls.detectors`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import ClassVar

import msgspec

from stadspuls.records import Post, Signal, Story


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """How one monitor wants a detector to behave."""

    # > 1 raises alerts sooner (lower thresholds), < 1 later; 1 is the tuned default.
    sensitivity: float = 1.0
    # Detector-specific settings (e.g. the P2000 trigger's priorities and watch hours).
    params: dict[str, float | str | list[str]] = msgspec.field(default_factory=dict)


class Detector(abc.ABC):
    name: ClassVar[str]

    @abc.abstractmethod
    def observe(self, post: Post, monitors: Mapping[int, Rule]) -> list[Signal]:
        """Take one post with the monitors (id -> rule) that matched it and enabled this
        detector (often none); return the signals it raises (often none)."""

    def stories(self) -> list[Story]:
        """Stories created or changed since the last call (only the story detectors have any)."""
        return []

    def forget(self, monitor_id: int) -> None:  # noqa: B027 - optional hook, default no state
        """Drop the state of a monitor that was deleted or whose query changed."""

    @abc.abstractmethod
    def snapshot(self) -> bytes:
        """The whole state, serialised (msgpack); `restore(snapshot())` changes nothing."""

    @abc.abstractmethod
    def restore(self, data: bytes) -> None:
        """Replace the state by one `snapshot` returned."""
