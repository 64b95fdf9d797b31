"""The reply sender: takes the replies that are due and sends each over its channel.

Every pass claims due replies of the configured channels only (a reply over a channel that is
not configured stays "queued", visible as such on the case, until it is), then sends each
channel's replies in a task of its own, so that a channel that hangs or fails never holds up
another. Within a channel replies go one after the other, each within `alerts.send_timeout_s`.
What a send raises decides what happens (CaseService.failed): a ChannelError says whether a
retry may help; a timeout or any other error is retried with back-off; a reply still failing
`alerts.max_age_hours` after it was written is given up and shows as failed in the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping

import sqlalchemy as sa

from stadspuls.cases.service import CaseService
from stadspuls.channels.base import Channel, ChannelError, OutboundReply

log = logging.getLogger(__name__)
CLAIM_LIMIT = 50


class ReplySender:
    def __init__(
        self,
        service: CaseService,
        channels: Mapping[str, Channel],
        *,
        send_timeout_s: float | None = None,
        poll_s: float | None = None,
    ) -> None:
        self.service = service
        self.channels = dict(channels)
        settings = service.settings
        self.send_timeout_s = send_timeout_s or settings.alerts.send_timeout_s
        self.poll_s = poll_s or settings.inbox.poll_s

    async def _send_channel(self, channel: Channel, replies: list[OutboundReply]) -> Counter[str]:
        done: Counter[str] = Counter()
        for reply in replies:
            try:
                external_id = await asyncio.wait_for(channel.send(reply), self.send_timeout_s)
            except ChannelError as error:
                await asyncio.to_thread(
                    self.service.failed, reply.message_id, str(error), retry=error.retry
                )
                log.info("reply %d over %s: %s", reply.message_id, channel.name, error)
                done["retry" if error.retry else "failed"] += 1
                continue
            except Exception as error:  # one send's failure is retried, bugs included
                if isinstance(error, TimeoutError):
                    reason = f"no answer within {self.send_timeout_s:g} s"
                else:
                    log.exception("reply %d over %s", reply.message_id, channel.name)
                    reason = f"{type(error).__name__}: {error}"
                await asyncio.to_thread(self.service.failed, reply.message_id, reason, retry=True)
                done["retry"] += 1
                continue
            await asyncio.to_thread(self.service.delivered, reply.message_id, external_id or "")
            done["sent"] += 1
        return done

    async def _claim(self, names: set[str]) -> dict[str, list[OutboundReply]]:
        due = await asyncio.to_thread(self.service.due_replies, limit=CLAIM_LIMIT, channels=names)
        by_channel: dict[str, list[OutboundReply]] = defaultdict(list)
        for reply in due:
            by_channel[reply.channel].append(reply)
        return by_channel

    async def send_due(self) -> Counter[str]:
        """One pass: claim what is due, send every channel's at once, wait for all."""
        if not self.channels:
            return Counter()
        by_channel = await self._claim(set(self.channels))
        results = await asyncio.gather(
            *(self._send_channel(self.channels[name], items) for name, items in by_channel.items())
        )
        return sum(results, Counter())

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: every `poll_s`, claim due replies of the channels that are not
        busy sending, and send each channel's in its own task."""
        busy: dict[str, asyncio.Task[Counter[str]]] = {}
        while not stop.is_set():
            busy = {name: task for name, task in busy.items() if not task.done()}
            free = set(self.channels) - set(busy)
            try:
                if free:
                    for name, items in (await self._claim(free)).items():
                        busy[name] = asyncio.create_task(
                            self._send_channel(self.channels[name], items)
                        )
            except sa.exc.SQLAlchemyError as error:
                log.warning("reply outbox: cannot read the queue: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_s)
        if busy:
            # Sends under way get their timeout; a reply cut off is sent again after its lease.
            _, pending = await asyncio.wait(busy.values(), timeout=self.send_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
