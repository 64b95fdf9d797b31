"""The outbox worker: sends due deliveries to webhooks and e-mail, retries with back-off.

Each target (one webhook, one e-mail address) gets its own task that sends its deliveries in
order, each within `alerts.send_timeout_s`; a target that fails stops its round (its other
deliveries wait for the same retry time) and never delays another target. A delivery is marked
delivered in its own transaction after the receiver accepted it, so an event reaches a target
once unless the process dies between the send and that commit (then once more: receivers dedupe
by the delivery id). Deliveries still failing `alerts.max_age_hours` after their event are
given up and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import sqlalchemy as sa

from stadspuls.alerts.email import EmailSender
from stadspuls.alerts.webhook import ChannelError, SendError, WebhookSender, load_secret
from stadspuls.backoff import backoff_s
from stadspuls.settings import AlertSettings, Settings
from stadspuls.store import outbox
from stadspuls.store.outbox import Delivery

log = logging.getLogger(__name__)
CLAIM_LIMIT = 100
Target = tuple[str, str]


def dashboard_base(settings: Settings) -> str:
    return (settings.alerts.dashboard_url or f"http://{settings.host}:{settings.port}").rstrip("/")


class Channels:
    """Every configured channel, checked at start-up (secrets readable, names unique)."""

    def __init__(self, settings: Settings) -> None:
        self.base = dashboard_base(settings)
        self.webhooks = WebhookSender(settings.webhooks, settings.alerts.send_timeout_s)
        self.email = EmailSender(settings.smtp)

    async def send(self, delivery: Delivery) -> None:
        link = f"{self.base}/alerts/{delivery.alert_id}"
        if delivery.channel == "webhook":
            await self.webhooks.send(delivery, link)
        elif delivery.channel == "email":
            await self.email.send(delivery, link)
        else:
            raise ChannelError(f"unknown channel {delivery.channel!r}")

    async def aclose(self) -> None:
        await self.webhooks.aclose()


class Outbox:
    def __init__(
        self,
        engine: sa.Engine,
        channels: Channels,
        config: AlertSettings,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.engine = engine
        self.channels = channels
        self.config = config
        self.clock = clock
        self.rng = rng

    def _now_us(self) -> int:
        return int(self.clock() * 1_000_000)

    async def _claim(self, skip: set[Target]) -> dict[Target, list[Delivery]]:
        send_us = int(self.config.send_timeout_s * 1_000_000)
        claimed = await asyncio.to_thread(
            outbox.claim_due,
            self.engine,
            self._now_us(),
            send_us=send_us,
            limit=CLAIM_LIMIT,
            skip=skip,
        )
        by_target: dict[Target, list[Delivery]] = defaultdict(list)
        for delivery in claimed:
            by_target[delivery.channel, delivery.target].append(delivery)
        return by_target

    async def _send_target(self, items: list[Delivery]) -> Counter[str]:
        done: Counter[str] = Counter()
        max_age_us = int(self.config.max_age_hours * 3600 * 1_000_000)
        for n, delivery in enumerate(items):
            name = f"{delivery.channel}:{delivery.target}"
            if self._now_us() - delivery.event_us > max_age_us:
                reason = (
                    f"given up after {delivery.attempts} attempts"
                    f" in {self.config.max_age_hours:g} h"
                )
                await asyncio.to_thread(
                    outbox.mark_failed, self.engine, delivery.id, reason, attempted=False
                )
                log.warning("alert delivery %d to %s %s", delivery.id, name, reason)
                done["failed"] += 1
                continue
            try:
                await asyncio.wait_for(self.channels.send(delivery), self.config.send_timeout_s)
            except ChannelError as error:
                # Configuration, not the receiver: retrying would not help.
                await asyncio.to_thread(
                    outbox.mark_failed, self.engine, delivery.id, str(error), attempted=True
                )
                log.warning("alert delivery %d to %s failed: %s", delivery.id, name, error)
                done["failed"] += 1
                continue
            except Exception as error:  # any failure of one send is retried, bugs included
                if isinstance(error, SendError | TimeoutError):
                    reason = str(error) or f"no answer within {self.config.send_timeout_s:g} s"
                else:  # a bug, not the receiver: keep the traceback in the log
                    log.exception("alert delivery %d to %s", delivery.id, name)
                    reason = f"{type(error).__name__}: {error}"
                delay = backoff_s(
                    delivery.attempts + 1, self.config.backoff_min_s, self.config.backoff_max_s,
                    self.rng,
                )  # fmt: skip
                next_us = self._now_us() + int(delay * 1_000_000)
                await asyncio.to_thread(
                    outbox.mark_retry, self.engine, delivery.id, next_us, reason
                )
                # The rest of this target's round waits for the same retry time unsent.
                await asyncio.to_thread(
                    outbox.release, self.engine, [d.id for d in items[n + 1 :]], next_us
                )
                log.info(
                    "alert delivery %d to %s: %s; retry in %.1f s", delivery.id, name, reason, delay
                )
                done["retry"] += 1 + len(items) - n - 1
                return done
            await asyncio.to_thread(outbox.mark_delivered, self.engine, delivery.id, self._now_us())
            done["delivered"] += 1
        return done

    async def deliver_due(self) -> Counter[str]:
        """One pass: send everything due now, every target at once; wait for all of them."""
        by_target = await self._claim(set())
        results = await asyncio.gather(*(self._send_target(items) for items in by_target.values()))
        return sum(results, Counter())

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: claim due deliveries every `poll_s` for targets that are not
        busy, and send each target's in its own task."""
        busy: dict[Target, asyncio.Task[Counter[str]]] = {}
        while not stop.is_set():
            busy = {target: task for target, task in busy.items() if not task.done()}
            try:
                for target, items in (await self._claim(set(busy))).items():
                    busy[target] = asyncio.create_task(self._send_target(items))
            except sa.exc.SQLAlchemyError as error:
                log.warning("alert outbox: cannot read deliveries: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_s)
        if busy:
            # Sends under way get their timeout; what is cut off is re-sent after its lease.
            _, pending = await asyncio.wait(busy.values(), timeout=self.config.send_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def load_channels(settings: Settings) -> Channels:
    """The channels of `settings`; ChannelError (one line) when one cannot work."""
    return Channels(settings)


def check_channels(settings: Settings) -> None:
    """Raise ChannelError (one line) when a configured channel cannot work: what `run` checks
    before it starts anything."""
    for hook in settings.webhooks:
        load_secret(hook)
    EmailSender(settings.smtp)


async def run_delivery(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    """The outbox worker inside `stadspuls run`, until `stop` is set."""
    channels = load_channels(settings)
    try:
        await Outbox(engine, channels, settings.alerts).run(stop)
    finally:
        await channels.aclose()


async def deliver_once(engine: sa.Engine, settings: Settings) -> Counter[str]:
    """`stadspuls alerts deliver`: one pass of the outbox."""
    channels = load_channels(settings)
    try:
        return await Outbox(engine, channels, settings.alerts).deliver_due()
    finally:
        await channels.aclose()
