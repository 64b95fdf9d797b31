"""The organisation's own Bluesky account: mentions of it and replies to its posts
(app.bsky.notification.listNotifications) become messages; replies are posted under them.

Plain httpx against XRPC rather than the `atproto` SDK: four endpoints are used, and the SDK
brings pydantic models for every lexicon and its own HTTP stack for them.

Sessions. com.atproto.server.createSession with the handle and an app password gives an access
token (minutes) and a refresh token (weeks); an expired access token is renewed with
refreshSession, and when that is refused too, a new session is created.

Paging. listNotifications pages from the newest backwards; its `cursor` points at older pages.
So our cursor is our own: "indexedAt|uri" of the newest notification handled. A poll reads
pages until it reaches that point and hands over what is newer, oldest first. The first run
starts from now on.

Replies. An app.bsky.feed.post with `reply` {root, parent} (root: the thread's first post),
starting with the citizen's @handle as a mention facet (byte offsets in UTF-8, as the
lexicon wants), at most 300 graphemes per post: a longer text becomes a numbered thread.
Unlike Mastodon, createRecord takes no idempotency key: a retry after an answer that was lost
on the way may post twice.

Direct messages (chat.bsky.convo.*, through the atproto-proxy header) are read from the chat
log and answered in their conversation: see bluesky_chat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from stadspuls.cases.records import Contact, InboundMessage
from stadspuls.channels import bluesky_chat as chat
from stadspuls.channels.base import (
    ChannelError,
    Conversations,
    OutboundReply,
    PayloadError,
    Polled,
    link_replies,
)
from stadspuls.channels.split import TooLong, graphemes, split_text
from stadspuls.channels.xrpc import XrpcSession
from stadspuls.records import utcnow
from stadspuls.settings import BlueskyAccountSettings

log = logging.getLogger(__name__)

CHANNEL = "bluesky"
REASONS = frozenset({"mention", "reply"})
PAGE_LIMIT = 50
# Pages read to find the cursor again (5,000 notifications); past that the older ones of a
# long gap are given up, with a warning.
MAX_PAGES = 100
POST_LIMIT = 300  # graphemes
TIMEOUT_S = 30.0


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def position(cursor: str) -> tuple[datetime, str]:
    when, _, uri = cursor.partition("|")
    return _time(when), uri


def notification_to_inbound(item: Mapping[str, Any], *, received_at: datetime) -> InboundMessage:
    """One mention or reply notification as the case service's message. Raises PayloadError."""
    uri, cid = item.get("uri"), item.get("cid")
    author, record = item.get("author"), item.get("record")
    if not (isinstance(uri, str) and isinstance(cid, str)):
        raise PayloadError("notification without uri/cid")
    if not isinstance(author, Mapping) or not isinstance(record, Mapping):
        raise PayloadError(f"{uri}: notification without author or record")
    did, handle, text = author.get("did"), author.get("handle"), record.get("text")
    if not (isinstance(did, str) and isinstance(handle, str) and isinstance(text, str)):
        raise PayloadError(f"{uri}: author without did/handle or post without text")
    reply = record.get("reply")
    root = reply.get("root") if isinstance(reply, Mapping) else None
    if not isinstance(root, Mapping):
        root = {"uri": uri, "cid": cid}  # the mention starts its own thread
    address = {
        "uri": uri,
        "cid": cid,
        "root_uri": str(root.get("uri")),
        "root_cid": str(root.get("cid")),
        "did": did,
    }
    images = _images(record.get("embed"))
    if images:
        text += f"\n\n[{images} foto('s) op Bluesky, niet opgehaald: {uri}]"
    langs = record.get("langs")
    language = langs[0] if isinstance(langs, list) and langs else None
    name = author.get("displayName") or handle
    return InboundMessage(
        channel=CHANNEL,
        external_id=uri,
        received_at=received_at,
        text=_without_own_mention(text, record),
        language=language[:2] if isinstance(language, str) and len(language) >= 2 else None,
        contact=Contact(
            name=str(name),
            handle=f"@{handle}",
            reply_to=json.dumps(address, separators=(",", ":"), sort_keys=True),
        ),
    )


def answers(item: Mapping[str, Any]) -> list[str]:
    """The uris this post answers, nearest first: its parent (our reply, when it answers one),
    then its thread's root (the citizen's first post, when our reply was part of a thread)."""
    record = item.get("record")
    reply = record.get("reply") if isinstance(record, Mapping) else None
    if not isinstance(reply, Mapping):
        return []
    found = []
    for key in ("parent", "root"):
        ref = reply.get(key)
        uri = ref.get("uri") if isinstance(ref, Mapping) else None
        if isinstance(uri, str) and uri not in found:
            found.append(uri)
    return found


def reply_record(
    text: str, *, address: Mapping[str, str], handle: str, parent: Mapping[str, str], now: datetime
) -> dict[str, Any]:
    """The post answering `address`'s thread under `parent`, mentioning `handle`."""
    mention = handle if handle.startswith("@") else f"@{handle}"
    body = f"{mention} {text}"
    return {
        "$type": "app.bsky.feed.post",
        "text": body,
        "createdAt": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "reply": {
            "root": {"uri": address["root_uri"], "cid": address["root_cid"]},
            "parent": {"uri": parent["uri"], "cid": parent["cid"]},
        },
        "facets": [
            {
                "index": {"byteStart": 0, "byteEnd": len(mention.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": address["did"]}],
            }
        ],
    }


class BlueskyChannel:
    name = CHANNEL

    def __init__(
        self,
        account: BlueskyAccountSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        conversations: Conversations | None = None,
    ) -> None:
        self.conversations = conversations
        self.service = account.service.rstrip("/")
        try:
            password = account.app_password_file.read_text().strip()
        except OSError as error:
            raise ChannelError(
                f"bluesky: cannot read app_password_file {account.app_password_file}: {error}",
                retry=False,
            ) from error
        self.clock = clock
        self.session = XrpcSession(
            self.service,
            account.handle,
            password,
            client=client or httpx.AsyncClient(timeout=TIMEOUT_S),
            clock=clock,
        )
        # Cleared when the chat service refuses the app password (no direct-message access).
        self.chat_allowed = True
        self.direct = chat.DirectMessages(self)

    async def poll(self, cursor: str | None) -> Polled:
        """Mentions and replies, then direct messages (when the app password allows them);
        the cursor holds both positions, "notifications\nchat"."""
        notifications_cursor, chat_cursor = chat.split_cursor(cursor)
        polled = await self._poll_notifications(notifications_cursor)
        if not self.chat_allowed:
            return polled
        try:
            direct = await self.direct.poll(chat_cursor)
        except ChannelError as error:
            if error.retry:
                raise
            # An app password without direct messages: mentions and replies still work.
            log.warning("bluesky: direct messages are not read: %s", error)
            self.chat_allowed = False
            return polled
        return Polled(
            messages=polled.messages + direct.messages,
            cursor=chat.join_cursor(polled.cursor, direct.cursor),
            malformed=polled.malformed + direct.malformed,
            skipped=polled.skipped,
        )

    async def _poll_notifications(self, cursor: str | None) -> Polled:
        since = position(cursor) if cursor else None
        fresh: list[Mapping[str, Any]] = []
        page_cursor: str | None = None
        newest: tuple[datetime, str] | None = None
        malformed = 0
        for page in range(MAX_PAGES):
            params = {"limit": str(PAGE_LIMIT if since else 1)}
            if page_cursor:
                params["cursor"] = page_cursor
            body = await self.session.xrpc(
                "GET", "app.bsky.notification.listNotifications", params=params
            )
            items = body.get("notifications")
            if not isinstance(items, list):
                raise ChannelError("bluesky: listNotifications without notifications")
            reached = False
            for item in items:
                try:
                    key = (_time(str(item["indexedAt"])), str(item["uri"]))
                except (KeyError, TypeError, ValueError):
                    malformed += 1
                    continue
                newest = max(newest, key) if newest else key
                if since is not None and key <= since:
                    reached = True
                    continue
                fresh.append(item)
            page_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if since is None or reached or not page_cursor or not items:
                break
            if page == MAX_PAGES - 1:
                log.warning("bluesky: more than %s new notifications; older ones skipped", page)
        if since is None:
            # The first run: from the newest notification on.
            start = newest or (self.clock(), "")
            return Polled(messages=(), cursor=_cursor(start), malformed=malformed)
        messages: list[tuple[InboundMessage, list[str]]] = []
        skipped = 0
        for item in sorted(fresh, key=lambda i: (_time(str(i["indexedAt"])), str(i["uri"]))):
            if item.get("reason") not in REASONS:
                skipped += 1  # likes, reposts, follows, quotes
                continue
            try:
                message = notification_to_inbound(item, received_at=self.clock())
                messages.append((message, answers(item)))
            except PayloadError as error:
                log.warning("bluesky notification: %s", error)
                malformed += 1
        return Polled(
            messages=await link_replies(messages, self.conversations),
            cursor=_cursor(max(newest, since) if newest else since),
            malformed=malformed,
            skipped=skipped,
        )

    async def send(self, reply: OutboundReply) -> str:
        try:
            direct = json.loads(reply.contact.reply_to or "")
        except ValueError:
            direct = None
        if isinstance(direct, dict) and isinstance(direct.get("convo"), str):
            return await self.direct.send(reply, direct["convo"])
        try:
            address = json.loads(reply.contact.reply_to or "")
            assert isinstance(address, dict)
            assert all(isinstance(address.get(k), str) for k in ("uri", "cid", "root_uri", "did"))
        except (ValueError, AssertionError) as error:
            raise ChannelError(f"case {reply.case_id}: no post to answer", retry=False) from error
        handle = reply.contact.handle or ""
        mention = handle if handle.startswith("@") else f"@{handle}"
        try:
            parts = split_text(
                reply.text, limit=POST_LIMIT - graphemes(mention) - 1, count=graphemes
            )
        except TooLong as error:
            raise ChannelError(f"case {reply.case_id}: {error}", retry=False) from error
        if self.session.did is None:
            await self.session.login()
        parent: Mapping[str, str] = {"uri": address["uri"], "cid": address["cid"]}
        first: str | None = None
        for part in parts:
            record = reply_record(
                part, address=address, handle=mention, parent=parent, now=self.clock()
            )
            record["langs"] = [reply.language]
            posted = await self.session.xrpc(
                "POST",
                "com.atproto.repo.createRecord",
                json={
                    "repo": self.session.did,
                    "collection": "app.bsky.feed.post",
                    "record": record,
                },
            )
            uri, cid = posted.get("uri"), posted.get("cid")
            if not (isinstance(uri, str) and isinstance(cid, str)):
                raise ChannelError("bluesky: createRecord answered without uri/cid")
            first = first or uri
            parent = {"uri": uri, "cid": cid}
        assert first is not None
        return first

    async def close(self) -> None:
        await self.session.close()


def _cursor(key: tuple[datetime, str]) -> str:
    when = key[0].isoformat(timespec="microseconds").replace("+00:00", "Z")
    return f"{when}|{key[1]}"


def _images(embed: object) -> int:
    if not isinstance(embed, Mapping):
        return 0
    images = embed.get("images")
    if isinstance(images, list):
        return len(images)
    media = embed.get("media")  # recordWithMedia
    return _images(media)


def _without_own_mention(text: str, record: Mapping[str, Any]) -> str:
    """The text without the leading @mention of our account (a facet at byte 0)."""
    for facet in record.get("facets") or ():
        index = facet.get("index") if isinstance(facet, Mapping) else None
        if isinstance(index, Mapping) and index.get("byteStart") == 0:
            end = index.get("byteEnd")
            if isinstance(end, int):
                return text.encode()[end:].decode(errors="ignore").strip() or text
    return text
