"""Call-outs: an operator asks the nearest available volunteers for help at a point; the
selection, the notifications (queued for the notifier), the answers by signed link, the log.
CONTRACT STUB: the owning helper replaces every NotImplementedError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from stadspuls.records import Actor
from stadspuls.settings import Settings
from stadspuls.volunteers.records import CallOut, CallOutEvent, Target
from stadspuls.volunteers.select import Selector


class CallOutService:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        selector: Selector,
        link_key: bytes,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        raise NotImplementedError

    def create(self, actor: Actor, callout: CallOut) -> CallOut:
        """Validate (point in NL, radius, skills, wanted, expiry in the future), store, select,
        store the targets with why, queue a notification per target and channel; log it all.
        Needs "callouts"."""
        raise NotImplementedError

    def get(self, actor: Actor, callout_id: int) -> CallOut:
        raise NotImplementedError

    def recent(self, actor: Actor, *, state: str | None = None, limit: int = 100) -> list[CallOut]:
        raise NotImplementedError

    def targets(self, actor: Actor, callout_id: int) -> list[Target]:
        raise NotImplementedError

    def events(self, actor: Actor, callout_id: int, *, after_id: int = 0) -> list[CallOutEvent]:
        """The log, oldest first; `after_id` for the live page's updates."""
        raise NotImplementedError

    def extend(self, actor: Actor, callout_id: int, more: int) -> int:
        """Select up to `more` further volunteers (the next nearest); returns how many."""
        raise NotImplementedError

    def close(self, actor: Actor, callout_id: int, note: str = "") -> CallOut:
        raise NotImplementedError

    def answer_token(self, target_id: int, answer: str) -> str:
        """A signed token for one answer of one target (HMAC, with the call-out's expiry)."""
        raise NotImplementedError

    def answer(self, token: str) -> Target:
        """Record the answer a token carries. BadLink for a forged or expired token; answering
        twice keeps the latest ("arrived" after "accepted")."""
        raise NotImplementedError

    def expire_due(self, now: datetime | None = None) -> int:
        raise NotImplementedError
