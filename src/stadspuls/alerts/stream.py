"""Which alert events a live stream has sent, so that none is skipped.

Event ids are taken when a row is inserted but become visible when its transaction commits: on
PostgreSQL two detector consumers commit in either order, so event 41 can appear after event 42
was sent. A stream that only asked for "ids above the last one sent" would never send 41. The
cursor keeps a floor below which everything was sent, re-reads from it, and sends what it has
not sent yet; an id missing for longer than `grace_s` (a rolled-back insert leaves a hole for
good) no longer holds the floor back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar


class HasId(Protocol):
    @property
    def id(self) -> int: ...


E = TypeVar("E", bound=HasId)
# Longer than any consumer transaction between taking an id and committing (milliseconds).
GRACE_S = 10.0
# Only the newest ids can still be in flight: holes further below the newest are given up at
# once (a client resuming from an old id, events of deleted monitors).
WINDOW = 1000


class EventCursor:
    def __init__(
        self, after: int, *, grace_s: float = GRACE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.floor = after  # every id <= floor was sent or given up
        self.sent: set[int] = set()  # ids above the floor that were sent
        self.missing: dict[int, float] = {}  # id above the floor not seen yet -> first missed
        self.grace_s = grace_s
        self.clock = clock

    @property
    def last(self) -> int:
        """The highest id sent (what a client's Last-Event-ID says)."""
        return max(self.sent, default=self.floor)

    def fresh(self, events: Sequence[E]) -> list[E]:
        """Of `events` (those after `last` and those with a `missing` id), the ones not sent
        yet, in id order; remembers them."""
        out = sorted(
            (e for e in events if e.id > self.floor and e.id not in self.sent), key=lambda e: e.id
        )
        self.sent.update(e.id for e in out)
        now = self.clock()
        top = self.last
        if top - self.floor > WINDOW:
            self.floor = top - WINDOW
            self.sent = {i for i in self.sent if i > self.floor}
            self.missing = {i: t for i, t in self.missing.items() if i > self.floor}
        for gap in range(self.floor + 1, top):
            if gap not in self.sent:
                self.missing.setdefault(gap, now)
        for gap in [g for g in self.missing if g in self.sent]:
            del self.missing[gap]
        while self.floor < top:
            following = self.floor + 1
            if following in self.sent:
                self.sent.discard(following)
            elif now - self.missing.get(following, now) >= self.grace_s:
                del self.missing[following]
            else:
                break
            self.floor = following
        return out
