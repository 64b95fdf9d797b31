"""The small interface every channel implements: `poll` fetches what is new since the stored
cursor, `send` delivers one reply. The case service and the outbox know channels only by this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import msgspec

from stadspuls.cases.records import Contact, InboundMessage


class ChannelError(Exception):
    """A channel could not be reached or refused a request; `retry` says whether trying again
    later may help (a timeout, a 5xx, a dropped connection) or not (bad credentials, a 4xx)."""

    def __init__(
        self, message: str, *, retry: bool = True, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.retry = retry
        # The server said when to come back (a rate limit's reset, a Retry-After header).
        self.retry_after_s = retry_after_s


class PayloadError(ValueError):
    """One item of a channel's answer that cannot be read as a message (counted as malformed,
    skipped: one bad item never stops a poll)."""


class OutboundReply(msgspec.Struct, frozen=True, kw_only=True):
    """One reply to deliver: the case's reference for the subject line or thread, the opened
    contact (the address to answer) and the text. `message_id` is the outbox row (stable across
    retries: channels use it to make a retry idempotent where the protocol allows)."""

    message_id: int
    case_id: int
    reference: str
    channel: str
    contact: Contact
    subject: str
    text: str
    language: str = "nl"
    # The out-of-hours reply: marked as automatic (e-mail: Auto-Submitted: auto-replied), so
    # that the citizen's own auto-responder does not answer it and start a mail loop.
    auto_reply: bool = False


class Polled(msgspec.Struct, frozen=True, kw_only=True):
    """What one poll found, and the cursor to store once all of it is received."""

    messages: tuple[InboundMessage, ...]
    cursor: str | None
    malformed: int = 0  # items the channel could not read (logged, counted, skipped)
    skipped: int = 0  # items deliberately not received (auto-replies, bounces, other kinds)
    # The channel's own ids of what this poll handled, for `Acknowledging.acknowledge` once
    # the cursor is stored (the e-mail channel moves these messages to its done folder).
    handled: tuple[str, ...] = ()
    # More is waiting (a page limit was reached): poll again at once.
    more: bool = False


# Which case one of our own sent messages belongs to: (channel, the id `send` returned) -> the
# case id, or None. The case service's `find_conversation`; a channel given it links a citizen's
# reply to our reply (a Mastodon status in reply to ours, a Bluesky reply to our post, an
# e-mail answering our Message-ID) to its case.
Conversations = Callable[[str, str], "int | None"]


async def link_replies(
    found: Sequence[tuple[InboundMessage, Sequence[str]]],
    conversations: Conversations | None,
) -> tuple[InboundMessage, ...]:
    """The messages, each with `in_reply_to_case` set when one of the ids it answers (nearest
    first: our reply, then what that answered, up to the citizen's first message) belongs to a
    case."""
    linked: list[InboundMessage] = []
    for message, answered in found:
        if message.in_reply_to_case is None and conversations is not None:
            for external_id in answered:
                # A database read: off the event loop.
                case = await asyncio.to_thread(conversations, message.channel, external_id)
                if case is not None:
                    message = msgspec.structs.replace(message, in_reply_to_case=case)
                    break
        linked.append(message)
    return tuple(linked)


class Channel(Protocol):
    name: str  # one of cases.records.CHANNELS

    async def poll(self, cursor: str | None) -> Polled:
        """What arrived after `cursor` (None: from now on, or what is unread)."""
        ...

    async def send(self, reply: OutboundReply) -> str:
        """Deliver `reply`; return the channel's id of what was sent (Message-ID, status id,
        post URI). Raises ChannelError."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Acknowledging(Channel, Protocol):
    """A channel that tidies up after a poll was received and its cursor stored (moving mail
    out of the inbox). Never before: a crash in between must leave the message to re-poll."""

    async def acknowledge(self, polled: Polled) -> None: ...
