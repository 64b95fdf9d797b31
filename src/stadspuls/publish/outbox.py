"""The publishing outbox: each delivery (one publication to one target) sent on its own.

A pass releases the publications whose time has come (`PublishService.release_due`), claims
the due deliveries (a conditional UPDATE: two runners never send one row at once), and sends
them all concurrently, each within `publish.send_timeout_s`: a channel that is down or hangs
delays only its own rows. What a send raises decides what happens:

- `SendError(permanent=True)` (refused as invalid, a missing account): failed at once;
- any other failure (a `SendError`, a timeout, a bug): retried after a back-off doubling from
  `publish.backoff_min_s` to `backoff_max_s` (with ±20 % jitter), or after the channel's own
  `retry_after_s` when it said one; given up `publish.max_age_hours` after publishing.

Every outcome is an event in the publication's history ("delivered", "delivery_failed" with
`final`). A delivery whose target is not configured (a webhook removed from the settings) waits,
visibly, and is given up at the age limit like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime

import sqlalchemy as sa

from stadspuls.backoff import backoff_s
from stadspuls.publish.records import Delivery, Publication
from stadspuls.publish.service import PublishService
from stadspuls.publish.targets import MediaLoader, PublishTarget, SendError, Sent
from stadspuls.store import publication_deliveries as deliveries_store
from stadspuls.store import publications as store
from stadspuls.store.rows import to_us

log = logging.getLogger(__name__)
CLAIM_LIMIT = 50
US = 1_000_000


class PublishOutbox:
    def __init__(
        self,
        service: PublishService,
        targets: Mapping[str, PublishTarget],
        media: MediaLoader,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.service = service
        self.engine: sa.Engine = service.engine
        self.config = service.settings.publish
        self.targets = dict(targets)
        self.media = media
        self.rng = rng

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.service.clock

    def _lease_us(self) -> int:
        # One send and its timeout, with room; a runner that died frees the row after it.
        return int(max(60.0, 3 * self.config.send_timeout_s) * US)

    def _claim(self) -> list[Delivery]:
        self.service.release_due()
        return deliveries_store.claim_due(
            self.engine, to_us(self.clock()), lease_us=self._lease_us(), limit=CLAIM_LIMIT
        )

    async def send_due(self) -> Counter[str]:
        """One pass: release, claim what is due, send it all at once, record each outcome.
        Returns how many were "sent", will be retried ("retry") or "failed"."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return Counter()
        results = await asyncio.gather(*(self._send(delivery) for delivery in claimed))
        return Counter(results)

    async def drain(self, *, passes: int = 100) -> Counter[str]:
        """Passes until a pass finds nothing due (`stadspuls publish deliver`)."""
        total: Counter[str] = Counter()
        for _ in range(passes):
            done = await self.send_due()
            if not done:
                break
            total += done
        return total

    async def _send(self, delivery: Delivery) -> str:
        publication = await asyncio.to_thread(self._publication, delivery.publication_id)
        if publication is None:
            return "gone"  # deleted meanwhile (its deliveries went with it)
        target = self.targets.get(delivery.target)
        if target is None:
            error = f"channel {delivery.target!r} is not configured"
            return await asyncio.to_thread(
                self._failed, delivery, publication, error, permanent=False, retry_after=None,
                attempted=False,
            )  # fmt: skip
        try:
            sent = await asyncio.wait_for(
                target.send(publication, delivery, self.media), self.config.send_timeout_s
            )
        except SendError as error:
            log.info("publication %d to %s: %s", publication.id, delivery.target, error)
            return await asyncio.to_thread(
                self._failed, delivery, publication, str(error) or type(error).__name__,
                permanent=error.permanent, retry_after=error.retry_after_s, attempted=True,
            )  # fmt: skip
        except Exception as error:  # a timeout, a bug: retried like any failure
            if isinstance(error, TimeoutError):
                reason = f"no answer within {self.config.send_timeout_s:g} s"
            else:
                log.exception("publication %d to %s", publication.id, delivery.target)
                reason = f"{type(error).__name__}: {error}"
            return await asyncio.to_thread(
                self._failed, delivery, publication, reason, permanent=False, retry_after=None,
                attempted=True,
            )  # fmt: skip
        await asyncio.to_thread(self._sent, delivery, sent)
        return "sent"

    def _publication(self, publication_id: int) -> Publication | None:
        with self.engine.connect() as conn:
            return store.get(conn, publication_id)

    def _sent(self, delivery: Delivery, sent: Sent) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            if deliveries_store.mark_sent(
                conn, delivery.id, external_id=sent.external_id, url=sent.url, now_us=to_us(now)
            ):
                store.add_event(
                    conn, delivery.publication_id, at=now, actor="system", kind="delivered",
                    details={"target": delivery.target, "external_id": sent.external_id,
                             "url": sent.url},
                )  # fmt: skip

    def _failed(
        self, delivery: Delivery, publication: Publication, error: str, *, permanent: bool,
        retry_after: float | None, attempted: bool,
    ) -> str:  # fmt: skip
        now = self.clock()
        published = publication.published_at or now
        too_old = (now - published).total_seconds() >= self.config.max_age_hours * 3600
        final = permanent or too_old
        with self.engine.begin() as conn:
            if final:
                if too_old and not permanent:
                    error = f"{error} (given up after {self.config.max_age_hours:g} h)"
                changed = deliveries_store.mark_failed(
                    conn, delivery.id, error=error, attempted=attempted
                )
            else:
                attempts = delivery.attempts + (1 if attempted else 0)
                if retry_after is not None and retry_after > 0:
                    delay = retry_after
                elif attempted:
                    delay = backoff_s(
                        attempts, self.config.backoff_min_s, self.config.backoff_max_s, self.rng
                    )
                else:
                    delay = self.config.backoff_max_s  # not configured: look again later
                next_us = to_us(now) + int(delay * US)
                if attempted:
                    changed = deliveries_store.mark_retry(
                        conn, delivery.id, next_us=next_us, error=error
                    )
                else:
                    changed = deliveries_store.postpone(
                        conn, delivery.id, next_us=next_us, error=error
                    )
            if changed and (attempted or final):
                store.add_event(
                    conn, delivery.publication_id, at=now, actor="system",
                    kind="delivery_failed",
                    details={"target": delivery.target, "error": error[:500], "final": final},
                )  # fmt: skip
        if final:
            log.warning("publication %d to %s given up: %s", publication.id, delivery.target,
                        error)  # fmt: skip
        return "failed" if final else "retry"

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: every `publish.poll_s`, claim what is due and start a task per
        delivery, without waiting for the sends still under way: a channel that hangs holds
        up nothing but its own rows (leased, so not claimed twice)."""
        busy: set[asyncio.Task[str]] = set()
        while not stop.is_set():
            busy = {task for task in busy if not task.done()}
            try:
                for delivery in await asyncio.to_thread(self._claim):
                    busy.add(asyncio.create_task(self._send(delivery)))
            except sa.exc.SQLAlchemyError as error:
                log.warning("publishing outbox: cannot read the queue: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_s)
        if busy:
            # Sends under way get their timeout; one cut off is sent again after its lease.
            _, pending = await asyncio.wait(busy, timeout=self.config.send_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
