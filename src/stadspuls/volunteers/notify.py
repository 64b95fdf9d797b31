"""The notifier: sends the queued notifications of call-outs by web push and e-mail.

It claims due rows of `callout_notifications` with a lease (two notifiers never send one row at
once), opens the selected volunteers' sealed data (their address and push subscriptions) only
for the claimed rows, sends up to `notify_concurrency` at once, and records each result in one
transaction per batch: the channel on the target's `reached`, a "sent" or "delivery_failed"
event in the call-out's log, the row sent, retried with back-off, or given up. A subscription
the push service calls gone (404/410) is removed from the volunteer. Nothing is sent for a
call-out that has ended.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import msgspec
import sqlalchemy as sa

from stadspuls.records import utcnow
from stadspuls.settings import Settings
from stadspuls.store import callout_notifications as outbox
from stadspuls.store import callouts as store
from stadspuls.store.callout_notifications import Notification
from stadspuls.store.rows import from_us, to_us
from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.messages import answer_urls, email_message, push_payload
from stadspuls.volunteers.records import Volunteer
from stadspuls.volunteers.registry import SendMail, VolunteerService
from stadspuls.volunteers.services import mail_retryable
from stadspuls.volunteers.webpush import PushError, WebPush

log = logging.getLogger(__name__)
BACKOFF_MIN_S = 5.0
BACKOFF_MAX_S = 300.0
LEASE_S = 300.0


class Outcome(msgspec.Struct, frozen=True):
    """What became of one notification: "sent", "retry", "failed" or "gone"."""

    result: str
    error: str = ""


class Notifier:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        volunteers: VolunteerService,
        callouts: CallOutService,
        push: WebPush | None,
        send_mail: SendMail | None,
        base_url: str,
        clock: Callable[[], datetime] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.volunteers = volunteers
        self.callouts = callouts
        self.push = push
        self.send_mail = send_mail
        self.base_url = base_url
        self.clock = clock or utcnow
        self.rng = rng
        concurrency = settings.volunteers.notify_concurrency
        self._limit = asyncio.Semaphore(concurrency)
        # smtplib is blocking: its sessions run in threads of their own, as many as may send.
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="notify-mail")

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def run_once(self) -> int:
        """Send one batch of due notifications; returns how many were handled."""
        now_us = to_us(self.clock())
        batch = max(100, 4 * self.settings.volunteers.notify_concurrency)
        claimed = await asyncio.to_thread(
            outbox.claim_due, self.engine, now_us, lease_us=int(LEASE_S * 1e6), limit=batch
        )
        if not claimed:
            return 0
        ids = sorted({n.volunteer_id for n in claimed if n.volunteer_id is not None})
        opened = await asyncio.to_thread(self.volunteers.open_private, ids) if ids else {}
        outcomes = await asyncio.gather(*(self._guarded(n, opened, now_us) for n in claimed))
        await asyncio.to_thread(self._record, list(zip(claimed, outcomes, strict=True)))
        return len(claimed)

    async def drain(self) -> int:
        """Send until nothing is due now (tests, the benchmark, a one-shot command)."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def _guarded(self, n: Notification, opened: dict[int, Volunteer], now_us: int) -> Outcome:
        """One send; a fault of its own (not the batch's) is retried like a failing server."""
        try:
            return await self._send(n, opened, now_us)
        except Exception as error:  # logged; it fails one notification, not the batch
            log.exception("sending notification %s failed", n.id)
            return Outcome("retry", f"{type(error).__name__}: {error}"[:500])

    async def _send(self, n: Notification, opened: dict[int, Volunteer], now_us: int) -> Outcome:
        if n.state != "open" or n.expires_us <= now_us:
            return Outcome("failed", "the call-out ended before it was sent")
        volunteer = opened.get(n.volunteer_id) if n.volunteer_id is not None else None
        if volunteer is None or volunteer.private is None:
            return Outcome("failed", "the volunteer left")
        if volunteer.state != "active":
            return Outcome("failed", f"the volunteer is {volunteer.state}")
        urls = answer_urls(
            self.base_url,
            self.callouts.answer_tokens(n.target_id, from_us(n.expires_us)),
        )
        async with self._limit:
            if n.channel == "push":
                return await self._push(n, volunteer, urls)
            if n.channel == "email":
                return await self._mail(n, volunteer, urls)
        return Outcome("failed", f"unknown channel {n.channel!r}")

    async def _push(self, n: Notification, volunteer: Volunteer, urls: dict[str, str]) -> Outcome:
        assert volunteer.private is not None
        if self.push is None:
            return Outcome("retry", "web push is not set up in this process")
        subscriptions = volunteer.private.push
        if not subscriptions:
            return Outcome("failed", "no push subscription")
        payload = push_payload(n, urls, volunteer.lang)
        sent, gone, retry, errors = 0, 0, False, []
        for subscription in subscriptions:
            try:
                await self.push.send(subscription, payload)
            except PushError as error:
                errors.append(str(error))
                if error.gone:
                    gone += 1
                    await asyncio.to_thread(
                        self.volunteers.remove_push,
                        subscription.endpoint,
                        volunteer_id=n.volunteer_id,
                    )
                retry = retry or error.retry
            else:
                sent += 1
        if sent:
            return Outcome("sent")
        if retry:
            return Outcome("retry", "; ".join(errors))
        return Outcome("gone" if gone == len(subscriptions) else "failed", "; ".join(errors))

    async def _mail(self, n: Notification, volunteer: Volunteer, urls: dict[str, str]) -> Outcome:
        assert volunteer.private is not None
        if self.send_mail is None or self.settings.smtp is None:
            return Outcome("retry", "no [smtp] server in the settings")
        message = email_message(
            n, urls, sender=self.settings.smtp.sender, to=volunteer.private.email,
            name=volunteer.private.name,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._threads, self.send_mail, message)
        except Exception as error:  # smtplib's and the socket's errors, sorted below
            text = f"smtp: {error}"[:500]
            return Outcome("retry" if mail_retryable(error) else "failed", text)
        return Outcome("sent")

    def _record(self, results: list[tuple[Notification, Outcome]]) -> None:
        now_us = to_us(self.clock())
        with self.engine.begin() as conn:
            for n, outcome in results:
                details: dict[str, object] = {"rank": n.rank, "channel": n.channel}
                if outcome.result == "sent":
                    outbox.mark_sent(conn, n.id, now_us)
                    store.add_reached(conn, n.target_id, n.channel)
                    store.add_event(
                        conn, n.callout_id, "sent", actor="system", now_us=now_us, details=details
                    )
                    continue
                details["error"] = outcome.error
                final = outcome.result != "retry" or now_us >= n.expires_us
                if outcome.result == "retry" and not final:
                    outbox.mark_retry(
                        conn, n.id, now_us + self._backoff_us(n.attempts), outcome.error
                    )
                    details["retry"] = True
                else:
                    outbox.mark_done(
                        conn, n.id, "gone" if outcome.result == "gone" else "failed", outcome.error
                    )
                store.add_event(
                    conn, n.callout_id, "delivery_failed", actor="system", now_us=now_us,
                    details=details,
                )  # fmt: skip

    def _backoff_us(self, attempts: int) -> int:
        """Exponential from 5 s to 5 min, with jitter (half to one and a half times)."""
        seconds = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2**attempts) * (0.5 + self.rng())
        return int(seconds * 1e6)
