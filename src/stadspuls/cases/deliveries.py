"""The outbox side of the case service: the replies due to be sent, and what became of each.

Part of `CaseService` (cases/service.py); the sender that calls it is cases/outbox.py. A reply
is claimed with a lease (store/case_messages.py), opened for its channel only (the contact is
unsealed here and handed to the channel, never stored or logged), and then recorded as
delivered, retried after a back-off (the alert outbox's: `alerts.backoff_min_s` doubling to
`backoff_max_s` with jitter) or given up, with an event in the case's history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime

import sqlalchemy as sa

from stadspuls.backoff import backoff_s
from stadspuls.cases import contacts
from stadspuls.cases.records import CaseMessage, Contact
from stadspuls.channels.base import OutboundReply
from stadspuls.sealed import Sealer, SealError
from stadspuls.settings import Settings
from stadspuls.store import case_messages
from stadspuls.store import cases as store
from stadspuls.store.rows import to_us

log = logging.getLogger(__name__)


class Deliveries:
    engine: sa.Engine
    settings: Settings
    sealer: Sealer
    clock: Callable[[], datetime]
    rng: Callable[[], float]

    def _lease_us(self) -> int:
        # Long enough for one send and its timeout; a sender that died frees the reply after.
        return int(max(60.0, 3 * self.settings.alerts.send_timeout_s) * 1_000_000)

    def due_replies(
        self, *, limit: int = 50, channels: Collection[str] | None = None
    ) -> list[OutboundReply]:
        """Claim the replies due now (of `channels` only, when given: a reply whose channel is
        not configured stays queued, visibly), leased for one send. Replies queued longer than
        `alerts.max_age_hours` are given up here."""
        now = self.clock()
        max_age_us = int(self.settings.alerts.max_age_hours * 3600 * 1_000_000)
        due = []
        with self.engine.begin() as conn:
            claimed = case_messages.claim_due(
                conn, to_us(now), lease_us=self._lease_us(), limit=limit, channels=channels
            )
            for message in claimed:
                assert message.id is not None
                if to_us(now) - to_us(message.at) > max_age_us:
                    error = (
                        f"given up: not delivered within {self.settings.alerts.max_age_hours:g} h"
                    )
                    self._give_up(conn, message, error, attempted=False, now=now)
                    continue
                case = store.get(conn, message.case_id)
                assert case is not None
                sealed = store.sealed_contact(conn, case.id)
                try:
                    contact = (
                        Contact()
                        if sealed is None
                        else contacts.open_sealed(self.sealer, case.id, sealed)
                    )
                except SealError as error:
                    # Another contact key than the one it was sealed under: no retry helps,
                    # and the rest of the queue must not wait for it.
                    self._give_up(conn, message, f"contact cannot be opened: {error}",
                                  attempted=False, now=now)  # fmt: skip
                    continue
                subject = message.subject or (
                    f"Re: {case.subject} [{case.reference}]" if case.subject else case.reference
                )
                due.append(
                    OutboundReply(
                        message_id=message.id,
                        case_id=case.id,
                        reference=case.reference,
                        channel=message.channel,
                        contact=contact,
                        subject=subject,
                        text=message.text,
                        language=case.language or "nl",
                        # Only the out-of-hours reply is written by "system" (receiving.py).
                        auto_reply=message.author == "system",
                    )
                )
        return due

    def _give_up(
        self, conn: sa.Connection, message: CaseMessage, error: str, *, attempted: bool,
        now: datetime,
    ) -> None:  # fmt: skip
        assert message.id is not None
        if case_messages.mark_failed(conn, message.id, error, attempted=attempted):
            store.add_event(
                conn, message.case_id, at=now, actor="system", kind="delivery_failed",
                details={"channel": message.channel, "message": message.id, "error": error[:500]},
            )  # fmt: skip
            log.warning("reply %d of case %d: %s", message.id, message.case_id, error)

    def delivered(self, message_id: int, external_id: str) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            message = case_messages.get(conn, message_id)
            if message is None or message.delivery != "queued":
                return
            # A channel that reports an id we hold already (a retried send that had arrived)
            # keeps the first row's claim on it.
            if external_id and case_messages.case_of(conn, message.channel, external_id):
                external_id = ""
            if case_messages.mark_sent(conn, message_id, external_id, to_us(now)):
                store.add_event(
                    conn, message.case_id, at=now, actor="system", kind="delivered",
                    details={"channel": message.channel, "message": message_id,
                             "external_id": external_id or None},
                )  # fmt: skip

    def failed(self, message_id: int, error: str, *, retry: bool) -> None:
        """One failed send: try again after a back-off (doubling from alerts.backoff_min_s to
        backoff_max_s, with jitter) unless `retry` is False or the reply is older than
        alerts.max_age_hours: then it is given up ("failed", in the case's history)."""
        now = self.clock()
        config = self.settings.alerts
        with self.engine.begin() as conn:
            message = case_messages.get(conn, message_id)
            if message is None or message.delivery != "queued":
                return
            age_s = (now - message.at).total_seconds()
            if retry and age_s < config.max_age_hours * 3600:
                attempts = case_messages.attempts_of(conn, message_id) + 1
                delay = backoff_s(attempts, config.backoff_min_s, config.backoff_max_s, self.rng)
                next_us = to_us(now) + int(delay * 1_000_000)
                case_messages.mark_retry(conn, message_id, next_us, error)
                return
            reason = error if not retry else f"{error} (given up after {config.max_age_hours:g} h)"
            self._give_up(conn, message, reason, attempted=True, now=now)
