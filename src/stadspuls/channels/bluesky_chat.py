"""Direct messages to the organisation's Bluesky account (chat.bsky.convo.*), read and
answered in the Bluesky channel's session; the mapping is pure.

The chat service is reached through the account's PDS with the header
`atproto-proxy: did:web:api.bsky.chat#bsky_chat`, and only with an app password that allows
direct messages; without that permission the channel reads mentions and replies only.

New messages come from the chat log (chat.bsky.convo.getLog), one cursor for every
conversation, so the channel's cursor needs no per-conversation state. A message id is unique
only within its conversation: ours is "chat:<convoId>:<messageId>".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stadspuls.cases.records import Contact, InboundMessage
from stadspuls.channels.base import ChannelError, OutboundReply, PayloadError, Polled, link_replies
from stadspuls.channels.split import TooLong, graphemes, split_text

if TYPE_CHECKING:
    from stadspuls.channels.bluesky import BlueskyChannel

log = logging.getLogger(__name__)

PROXY = {"atproto-proxy": "did:web:api.bsky.chat#bsky_chat"}
CHAT_LIMIT = 1000  # graphemes per message (the lexicon's maxGraphemes)
LOG_PAGES = 10  # pages of the chat log read per poll; the rest comes with the next
CREATE = "chat.bsky.convo.defs#logCreateMessage"
MESSAGE_VIEW = "chat.bsky.convo.defs#messageView"


def chat_id(convo_id: str, message_id: str) -> str:
    return f"chat:{convo_id}:{message_id}"


def split_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    """(notifications cursor, chat log cursor) of the channel's cursor "notif\\nchat"."""
    if cursor is None:
        return None, None
    notifications, _, chat = cursor.partition("\n")
    return notifications or None, chat or None


def join_cursor(notifications: str | None, chat: str | None) -> str | None:
    if chat is None:
        return notifications
    return f"{notifications or ''}\n{chat}"


def new_messages(logs: list[Any], own_did: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(convoId, message) of each message someone else wrote, in log order."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for entry in logs:
        if not isinstance(entry, Mapping) or entry.get("$type") != CREATE:
            continue
        message = entry.get("message")
        convo = entry.get("convoId")
        if not isinstance(message, Mapping) or not isinstance(convo, str):
            continue
        if message.get("$type", MESSAGE_VIEW) != MESSAGE_VIEW:
            continue  # a deleted message
        sender = message.get("sender")
        if isinstance(sender, Mapping) and sender.get("did") == own_did:
            continue  # ours
        found.append((convo, message))
    return found


def chat_to_inbound(
    convo_id: str,
    message: Mapping[str, Any],
    *,
    members: Mapping[str, Mapping[str, Any]],
    received_at: datetime,
) -> InboundMessage:
    """One direct message as the case service's message. Raises PayloadError."""
    message_id, text, sender = message.get("id"), message.get("text"), message.get("sender")
    did = sender.get("did") if isinstance(sender, Mapping) else None
    if not (isinstance(message_id, str) and isinstance(text, str) and isinstance(did, str)):
        raise PayloadError(f"chat {convo_id}: a message without id, text or sender")
    member = members.get(did, {})
    handle = member.get("handle")
    name = member.get("displayName") or handle
    address = {"convo": convo_id, "did": did}
    return InboundMessage(
        channel="bluesky",
        external_id=chat_id(convo_id, message_id),
        received_at=received_at,
        subject="",
        text=text,
        contact=Contact(
            name=str(name) if name else None,
            handle=f"@{handle}" if isinstance(handle, str) else did,
            reply_to=json.dumps(address, separators=(",", ":"), sort_keys=True),
        ),
    )


def earlier_ids(convo_id: str, history: list[Any], message_id: str) -> list[str]:
    """The conversation's other messages, newest first (getMessages answers newest first): our
    replies and the citizen's first message name the case."""
    return [
        chat_id(convo_id, str(item["id"]))
        for item in history
        if isinstance(item, Mapping)
        and isinstance(item.get("id"), str)
        and item["id"] != message_id
    ]


class DirectMessages:
    """The Bluesky channel's direct messages: `poll` from the chat log's cursor, `send` into a
    conversation. Uses the channel's session, clock and conversation lookup."""

    def __init__(self, channel: BlueskyChannel) -> None:
        self.channel = channel

    async def poll(self, cursor: str | None) -> Polled:
        if self.channel.session.did is None:
            await self.channel.session.login()
        assert self.channel.session.did is not None
        if cursor is None:
            # The first run: from the newest conversation change on (revs are sortable TIDs).
            body = await self.channel.session.xrpc(
                "GET", "chat.bsky.convo.listConvos", params={"limit": "100"}, headers=PROXY
            )
            convos = body.get("convos")
            revs = [
                str(c["rev"])
                for c in (convos if isinstance(convos, list) else [])
                if isinstance(c, Mapping) and c.get("rev")
            ]
            return Polled(messages=(), cursor=max(revs, default="0"))
        found: list[tuple[str, Mapping[str, Any]]] = []
        position_now = cursor
        for _ in range(LOG_PAGES):
            body = await self.channel.session.xrpc(
                "GET", "chat.bsky.convo.getLog", params={"cursor": position_now},
                headers=PROXY,
            )  # fmt: skip
            logs = body.get("logs")
            if not isinstance(logs, list) or not logs:
                break
            found += new_messages(logs, self.channel.session.did)
            following = body.get("cursor")
            if not isinstance(following, str) or following == position_now:
                break
            position_now = following
        messages: list[tuple[InboundMessage, list[str]]] = []
        malformed = 0
        members: dict[str, dict[str, Mapping[str, Any]]] = {}
        for convo_id, message in found:
            if convo_id not in members:
                members[convo_id] = await self._members(convo_id)
            try:
                inbound = chat_to_inbound(
                    convo_id, message, members=members[convo_id], received_at=self.channel.clock()
                )
            except PayloadError as error:
                log.warning("bluesky: %s", error)
                malformed += 1
                continue
            history = await self.channel.session.xrpc(
                "GET", "chat.bsky.convo.getMessages",
                params={"convoId": convo_id, "limit": "30"}, headers=PROXY,
            )  # fmt: skip
            items = history.get("messages")
            earlier = earlier_ids(
                convo_id, items if isinstance(items, list) else [], str(message["id"])
            )
            messages.append((inbound, earlier))
        return Polled(
            messages=await link_replies(messages, self.channel.conversations),
            cursor=position_now,
            malformed=malformed,
        )

    async def _members(self, convo_id: str) -> dict[str, Mapping[str, Any]]:
        body = await self.channel.session.xrpc(
            "GET", "chat.bsky.convo.getConvo", params={"convoId": convo_id}, headers=PROXY
        )
        convo = body.get("convo")
        found = convo.get("members") if isinstance(convo, Mapping) else None
        return {
            str(m["did"]): m
            for m in (found if isinstance(found, list) else [])
            if isinstance(m, Mapping) and isinstance(m.get("did"), str)
        }

    async def send(self, reply: OutboundReply, convo_id: str) -> str:
        try:
            parts = split_text(reply.text, limit=CHAT_LIMIT, count=graphemes)
        except TooLong as error:
            raise ChannelError(f"case {reply.case_id}: {error}", retry=False) from error
        first: str | None = None
        for part in parts:
            sent = await self.channel.session.xrpc(
                "POST", "chat.bsky.convo.sendMessage",
                json={"convoId": convo_id, "message": {"text": part}}, headers=PROXY,
            )  # fmt: skip
            message_id = sent.get("id")
            if not isinstance(message_id, str):
                raise ChannelError("bluesky: sendMessage answered without an id")
            first = first or chat_id(convo_id, message_id)
        assert first is not None
        return first
