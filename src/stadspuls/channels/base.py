"""The small interface every channel implements: `poll` fetches what is new since the stored
cursor, `send` delivers one reply. The case service and the outbox know channels only by this.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from stadspuls.cases.records import Contact, InboundMessage


class ChannelError(Exception):
    """A channel could not be reached or refused a request; `retry` says whether trying again
    later may help (a timeout, a 5xx, a dropped connection) or not (bad credentials, a 4xx)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


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


class Polled(msgspec.Struct, frozen=True, kw_only=True):
    """What one poll found, and the cursor to store once all of it is received."""

    messages: tuple[InboundMessage, ...]
    cursor: str | None
    malformed: int = 0  # items the channel could not read (logged, counted, skipped)


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
