"""The reply outbox: sent and recorded, retried with back-off, given up after the age limit or
a refusal, a channel that is not configured leaves its replies queued, and a channel that hangs
never holds up another. The channels here are stand-ins for our own Channel interface (the
real ones are tested against local servers in tests/channels/)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from stadspuls.cases.outbox import ReplySender
from stadspuls.cases.records import Department
from stadspuls.channels.base import ChannelError, OutboundReply, Polled
from stadspuls.sealed import Sealer
from stadspuls.store.schema import case_contacts, case_messages
from tests.cases.conftest import ALICE, SUNDAY, Inbox


class FakeChannel:
    """Records what it is asked to send; `behaviour` decides each send's fate."""

    def __init__(self, name: str, behaviour: Callable[[OutboundReply], str] | None = None) -> None:
        self.name = name
        self.sent: list[OutboundReply] = []
        self.behaviour = behaviour or (lambda reply: f"<{reply.message_id}@sent>")
        self.hang = False

    async def poll(self, cursor: str | None) -> Polled:
        return Polled(messages=(), cursor=cursor)

    async def send(self, reply: OutboundReply) -> str:
        if self.hang:
            await asyncio.sleep(3600)
        result = self.behaviour(reply)
        self.sent.append(reply)
        return result

    async def close(self) -> None:
        return None


def _refuse(retry: bool) -> Callable[[OutboundReply], str]:
    def behaviour(_reply: OutboundReply) -> str:
        raise ChannelError("503 Service Unavailable" if retry else "401 Unauthorized", retry=retry)

    return behaviour


def _row(inbox: Inbox, message_id: int) -> sa.RowMapping:
    with inbox.engine.connect() as conn:
        return (
            conn.execute(sa.select(case_messages).where(case_messages.c.id == message_id))
            .mappings()
            .one()
        )


@pytest.fixture
def queued(inbox: Inbox, desk: Department) -> int:
    """A reply by e-mail to Alice, queued."""
    ann = inbox.actor("ann")
    case_id = inbox.service.receive(inbox.message(contact=ALICE, subject="Afval")).case_id
    message = inbox.service.reply(ann, case_id, body="Wij komen het ophalen.")
    assert message.id is not None
    return message.id


def test_a_reply_is_sent_and_recorded(inbox: Inbox, queued: int) -> None:
    email = FakeChannel("email")
    done = asyncio.run(ReplySender(inbox.service, {"email": email}).send_due())
    assert done == {"sent": 1}
    [reply] = email.sent
    assert reply.message_id == queued
    assert reply.contact == ALICE  # opened for the channel only
    assert reply.text == "Wij komen het ophalen."
    assert reply.subject.startswith("Re: Afval [SP-2026-")
    row = _row(inbox, queued)
    assert (row["delivery"], row["external_id"], row["attempts"]) == ("sent", f"<{queued}@sent>", 1)
    view = inbox.service.view(inbox.actor("ann"), reply.case_id)
    assert [e.details["external_id"] for e in view.events if e.kind == "delivered"] == [
        f"<{queued}@sent>"
    ]
    # Nothing is sent twice.
    assert asyncio.run(ReplySender(inbox.service, {"email": email}).send_due()) == {}
    # The conversation now knows the sent id: an answer to it finds the case.
    assert inbox.service.find_conversation("email", f"<{queued}@sent>") == reply.case_id


def test_a_failure_is_retried_with_back_off(inbox: Inbox, queued: int) -> None:
    failing = FakeChannel("email", _refuse(retry=True))
    sender = ReplySender(inbox.service, {"email": failing})
    assert asyncio.run(sender.send_due()) == {"retry": 1}
    row = _row(inbox, queued)
    assert row["delivery"] == "queued"
    assert row["attempts"] == 1
    assert "503" in row["last_error"]
    config = inbox.settings.alerts
    # rng 0.5: the back-off is exactly backoff_min_s after the first failure, then doubles.
    first_wait = timedelta(seconds=config.backoff_min_s)
    assert inbox.service.due_replies() == []
    inbox.clock.advance(seconds=first_wait.total_seconds() - 1)
    assert inbox.service.due_replies() == []
    inbox.clock.advance(seconds=1)
    assert asyncio.run(sender.send_due()) == {"retry": 1}
    assert _row(inbox, queued)["attempts"] == 2
    inbox.clock.advance(seconds=first_wait.total_seconds())
    assert inbox.service.due_replies() == []  # the second wait is twice as long
    inbox.clock.advance(seconds=first_wait.total_seconds())
    failing.behaviour = FakeChannel("email").behaviour
    assert asyncio.run(sender.send_due()) == {"sent": 1}
    assert _row(inbox, queued)["delivery"] == "sent"


def test_given_up_after_the_age_limit(inbox: Inbox, queued: int) -> None:
    failing = FakeChannel("email", _refuse(retry=True))
    sender = ReplySender(inbox.service, {"email": failing})
    asyncio.run(sender.send_due())
    inbox.clock.advance(hours=inbox.settings.alerts.max_age_hours + 1)
    # Due again, but too old: given up without another try.
    assert asyncio.run(sender.send_due()) == {}
    row = _row(inbox, queued)
    assert row["delivery"] == "failed"
    assert len(failing.sent) == 0
    view = inbox.service.view(inbox.actor("ann"), row["case_id"])
    failed = [e for e in view.events if e.kind == "delivery_failed"]
    assert len(failed) == 1
    assert "given up" in str(failed[0].details["error"])


def test_a_refusal_is_not_retried(inbox: Inbox, queued: int) -> None:
    sender = ReplySender(inbox.service, {"email": FakeChannel("email", _refuse(retry=False))})
    assert asyncio.run(sender.send_due()) == {"failed": 1}
    row = _row(inbox, queued)
    assert (row["delivery"], row["attempts"]) == ("failed", 1)
    assert "401" in row["last_error"]
    inbox.clock.advance(days=1)
    assert inbox.service.due_replies() == []


def test_without_its_channel_a_reply_stays_queued(inbox: Inbox, queued: int) -> None:
    assert asyncio.run(ReplySender(inbox.service, {}).send_due()) == {}
    mastodon = FakeChannel("mastodon")
    assert asyncio.run(ReplySender(inbox.service, {"mastodon": mastodon}).send_due()) == {}
    assert _row(inbox, queued)["delivery"] == "queued"
    assert mastodon.sent == []


def test_a_hanging_channel_holds_up_no_other(inbox: Inbox, queued: int, desk: Department) -> None:
    ann = inbox.actor("ann")
    toot = inbox.service.receive(
        inbox.message(channel="mastodon", external_id="1099", contact=ALICE)
    )
    inbox.service.reply(ann, toot.case_id, body="@alice Dank je, we gaan kijken.")
    email, mastodon = FakeChannel("email"), FakeChannel("mastodon")
    email.hang = True

    async def run() -> None:
        stop = asyncio.Event()
        sender = ReplySender(
            inbox.service, {"email": email, "mastodon": mastodon}, send_timeout_s=0.5, poll_s=0.05
        )
        task = asyncio.create_task(sender.run(stop))
        for _ in range(100):
            if mastodon.sent:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(run())
    assert [r.channel for r in mastodon.sent] == ["mastodon"]
    assert email.sent == []
    assert _row(inbox, queued)["delivery"] == "queued"  # cut off: sent again after its lease


def test_a_timeout_is_retried(inbox: Inbox, queued: int) -> None:
    email = FakeChannel("email")
    email.hang = True
    sender = ReplySender(inbox.service, {"email": email}, send_timeout_s=0.05)
    assert asyncio.run(sender.send_due()) == {"retry": 1}
    assert "no answer" in _row(inbox, queued)["last_error"]


def test_a_claimed_reply_is_leased(inbox: Inbox, queued: int) -> None:
    assert [r.message_id for r in inbox.service.due_replies()] == [queued]
    # A second sender finds nothing while the first holds it.
    assert inbox.service.due_replies() == []
    inbox.clock.advance(minutes=10)
    assert [r.message_id for r in inbox.service.due_replies()] == [queued]


def test_a_contact_sealed_under_another_key_fails_alone(
    inbox: Inbox, queued: int, desk: Department
) -> None:
    later = inbox.service.receive(inbox.message(contact=ALICE)).case_id
    second = inbox.service.reply(inbox.actor("ann"), later, body="Tweede antwoord.")
    with inbox.engine.begin() as conn:  # as if the key file had been replaced
        conn.execute(
            case_contacts.update()
            .where(case_contacts.c.case_id == _row(inbox, queued)["case_id"])
            .values(sealed=Sealer(os.urandom(32)).seal("{}", "case:1"))
        )
    email = FakeChannel("email")
    assert asyncio.run(ReplySender(inbox.service, {"email": email}).send_due()) == {"sent": 1}
    assert [r.message_id for r in email.sent] == [second.id]
    row = _row(inbox, queued)
    assert row["delivery"] == "failed"
    assert "cannot be opened" in row["last_error"]


def test_the_out_of_hours_reply_goes_out_marked_automatic(inbox: Inbox, desk: Department) -> None:
    inbox.clock.now = SUNDAY
    case_id = inbox.service.receive(inbox.message(contact=ALICE, received_at=SUNDAY)).case_id
    inbox.service.reply(inbox.actor("ann"), case_id, body="Wij kijken er maandag naar.")
    email = FakeChannel("email")
    assert asyncio.run(ReplySender(inbox.service, {"email": email}).send_due()) == {"sent": 2}
    # A person's reply is not automatic: the citizen's auto-responder may answer that one.
    assert [(r.text.startswith("Wij kijken"), r.auto_reply) for r in email.sent] == [
        (False, True),
        (True, False),
    ]
