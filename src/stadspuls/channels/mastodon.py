"""The organisation's own Mastodon account: mentions and direct messages (the notifications
API, type "mention") become messages; replies are posted as statuses under the mention.

Paging. The cursor is the newest notification id handled. A poll asks with `min_id` (the page
immediately after the cursor, unlike `since_id`, which gives the newest page and leaves a hole
after a long gap) and follows the Link header's rel="prev" to newer pages, oldest first. The
first run starts from now on: the account's old mentions are not turned into cases.

Rate limits. Mastodon says what is left (X-RateLimit-Remaining) and when it resets
(X-RateLimit-Reset); a poll stops paging when little is left, and a 429 is a ChannelError
with the reset time, which the poller waits for.

Replies. The visibility of the reply is the mention's ("direct" stays direct, read from the
status itself when sending), it starts with the citizen's @handle, and a text longer than one
status (500 characters) becomes a numbered thread, each part under the previous. Each part
carries an Idempotency-Key made from the outbox row, so a retry after a lost answer does not
post twice (Mastodon keeps the key for an hour).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from stadspuls.cases.records import Contact, InboundMessage
from stadspuls.channels.base import (
    ChannelError,
    Conversations,
    OutboundReply,
    PayloadError,
    Polled,
    link_replies,
)
from stadspuls.channels.split import TooLong, split_text
from stadspuls.records import utcnow
from stadspuls.settings import MastodonAccountSettings
from stadspuls.sources.markup import html_to_text

log = logging.getLogger(__name__)

CHANNEL = "mastodon"
PAGE_LIMIT = 40  # the API's maximum for notifications
MAX_PAGES = 10  # per poll; the rest waits for the next (Polled.more)
STATUS_LIMIT = 500  # characters, the default of a Mastodon server
LOW_RATE = 5  # requests left: stop paging until the next poll
TIMEOUT_S = 30.0
_LEADING_MENTIONS = re.compile(r"^(\s*@[\w.\-]+(@[\w.\-]+)?)+\s*")


def id_key(notification_id: str) -> tuple[int, str]:
    """Ids are numbers in strings: compare by length, then text."""
    return (len(notification_id), notification_id)


def handle_of(account: Mapping[str, Any], instance_host: str) -> str:
    acct = account.get("acct")
    if not isinstance(acct, str) or not acct:
        raise PayloadError("account without acct")
    return f"@{acct}" if "@" in acct else f"@{acct}@{instance_host}"


def mention_to_inbound(
    notification: Mapping[str, Any], *, instance_host: str, received_at: datetime
) -> InboundMessage:
    """One `mention` notification as the case service's message. Raises PayloadError."""
    status = notification.get("status")
    account = notification.get("account")
    if not isinstance(status, Mapping) or not isinstance(account, Mapping):
        raise PayloadError(f"notification {notification.get('id')!r} without status or account")
    status_id = status.get("id")
    content = status.get("content")
    if not isinstance(status_id, str) or not isinstance(content, str):
        raise PayloadError(f"notification {notification.get('id')!r}: status without id/content")
    text = _LEADING_MENTIONS.sub("", html_to_text(content), count=1).strip()
    attachments = [
        str(item.get("url") or item.get("remote_url") or "")
        for item in status.get("media_attachments") or ()
        if isinstance(item, Mapping)
    ]
    if attachments:
        # The intake takes uploads, not downloads from other servers: staff see the links.
        text += f"\n\n[{len(attachments)} bijlage(n) op Mastodon, niet opgehaald: " + (
            " ".join(attachments) + "]"
        )
    name = account.get("display_name") or account.get("username")
    language = status.get("language")
    return InboundMessage(
        channel=CHANNEL,
        external_id=_external_id(status, status_id, instance_host),
        received_at=received_at,
        subject=str(status.get("spoiler_text") or "")[:300],
        text=text,
        language=language if isinstance(language, str) and len(language) == 2 else None,
        contact=Contact(
            name=str(name) if name else None,
            handle=handle_of(account, instance_host),
            reply_to=status_id,
        ),
    )


def _external_id(status: Mapping[str, Any], status_id: str, instance_host: str) -> str:
    """The status's ActivityPub uri (the same on every server); our server's id when the uri
    is missing or longer than the case service keeps (500)."""
    uri = status.get("uri")
    if isinstance(uri, str) and 0 < len(uri) <= 500:
        return uri
    return f"{instance_host}/statuses/{status_id}"[:500]


def answers(notification: Mapping[str, Any]) -> str | None:
    """The id of the status this mention answers (ours, when it replies to our reply)."""
    status = notification.get("status")
    answered = status.get("in_reply_to_id") if isinstance(status, Mapping) else None
    return answered if isinstance(answered, str) else None


def retry_after(response: httpx.Response, now: datetime) -> float | None:
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            return max(0.0, (when.astimezone(UTC) - now).total_seconds())
    seconds = response.headers.get("retry-after", "")
    return float(seconds) if seconds.isdigit() else None


class MastodonChannel:
    name = CHANNEL

    def __init__(
        self,
        account: MastodonAccountSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        conversations: Conversations | None = None,
    ) -> None:
        self.conversations = conversations
        self.base_url = account.base_url.rstrip("/")
        self.host = httpx.URL(self.base_url).host
        try:
            token = account.access_token_file.read_text().strip()
        except OSError as error:
            raise ChannelError(
                f"mastodon: cannot read access_token_file {account.access_token_file}: {error}",
                retry=False,
            ) from error
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_S)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.clock = clock

    async def poll(self, cursor: str | None) -> Polled:
        url = f"{self.base_url}/api/v1/notifications"
        if cursor is None:
            # From now on: the newest mention is where the next poll starts.
            response = await self._get(url, {"types[]": "mention", "limit": "1"})
            newest = [n.get("id") for n in _list(response) if isinstance(n, Mapping)]
            return Polled(messages=(), cursor=str(newest[0]) if newest else "0")
        params: dict[str, str] | None = {
            "types[]": "mention",
            "min_id": cursor,
            "limit": str(PAGE_LIMIT),
        }
        messages: list[tuple[InboundMessage, list[str]]] = []
        malformed = skipped = 0
        newest_id = cursor
        more = False
        for page in range(MAX_PAGES):
            response = await self._get(url, params)
            items = [n for n in _list(response) if isinstance(n, Mapping)]
            if not items:
                break
            # Each page comes newest first.
            for notification in sorted(items, key=lambda n: id_key(str(n.get("id", "")))):
                notification_id = str(notification.get("id", ""))
                if id_key(notification_id) <= id_key(newest_id):
                    continue
                newest_id = notification_id
                if notification.get("type") != "mention":
                    skipped += 1  # a server that ignores types[]
                    continue
                try:
                    message = mention_to_inbound(
                        notification, instance_host=self.host, received_at=self.clock()
                    )
                    answered = answers(notification)
                    messages.append((message, [answered] if answered else []))
                except PayloadError as error:
                    log.warning("mastodon notification %s: %s", notification_id, error)
                    malformed += 1
            url, params = self._newer(response, newest_id)
            remaining = response.headers.get("x-ratelimit-remaining", "")
            if remaining.isdigit() and int(remaining) <= LOW_RATE:
                more = False  # wait for the next poll instead of running into a 429
                break
            more = page == MAX_PAGES - 1 and len(items) >= PAGE_LIMIT
        return Polled(
            messages=await self._linked(messages),
            cursor=newest_id,
            malformed=malformed,
            skipped=skipped,
            more=more,
        )

    async def _linked(
        self, found: list[tuple[InboundMessage, list[str]]]
    ) -> tuple[InboundMessage, ...]:
        """Replies linked to their case: by the status they answer, else, when that is one
        part of a thread of ours, by the thread's earlier statuses (/context's ancestors,
        nearest first, down to the citizen's first mention)."""
        linked = list(await link_replies(found, self.conversations))
        for index, (message, answered) in enumerate(found):
            if linked[index].in_reply_to_case is not None or not answered:
                continue
            if self.conversations is None:
                break
            try:
                response = await self._get(
                    f"{self.base_url}/api/v1/statuses/{answered[0]}/context", None
                )
                ancestors = _json(response).get("ancestors")
            except ChannelError as error:
                # Not linked is not lost: the case service still finds the conversation by
                # its contact, or a person links it.
                log.info("mastodon: the thread of %s is not readable: %s", answered[0], error)
                continue
            earlier: list[str] = []
            for status in reversed(ancestors if isinstance(ancestors, list) else []):
                if isinstance(status, Mapping):
                    earlier += [str(v) for v in (status.get("id"), status.get("uri")) if v]
            (linked[index],) = await link_replies([(message, earlier)], self.conversations)
        return tuple(linked)

    def _newer(self, response: httpx.Response, newest_id: str) -> tuple[str, dict[str, str] | None]:
        """The next page of newer notifications: the Link header's prev, when it points at
        our own server (the token goes nowhere else), else built from the newest id."""
        prev = response.links.get("prev", {}).get("url")
        if prev and prev.startswith(self.base_url + "/"):
            return prev, None
        url = f"{self.base_url}/api/v1/notifications"
        return url, {"types[]": "mention", "min_id": newest_id, "limit": str(PAGE_LIMIT)}

    async def send(self, reply: OutboundReply) -> str:
        status_id = reply.contact.reply_to
        handle = reply.contact.handle
        if not status_id or not handle:
            raise ChannelError(f"case {reply.case_id}: no status to answer", retry=False)
        original = await self._request("GET", f"{self.base_url}/api/v1/statuses/{status_id}")
        visibility = _json(original).get("visibility", "direct")
        try:
            parts = split_text(reply.text, limit=STATUS_LIMIT - len(handle) - 1, count=len)
        except TooLong as error:
            raise ChannelError(f"case {reply.case_id}: {error}", retry=False) from error
        first: str | None = None
        parent = status_id
        for number, part in enumerate(parts, start=1):
            response = await self._request(
                "POST",
                f"{self.base_url}/api/v1/statuses",
                json={
                    "status": f"{handle} {part}",
                    "in_reply_to_id": parent,
                    "visibility": visibility,
                    "language": reply.language,
                },
                headers={"Idempotency-Key": f"stadspuls-{reply.message_id}-{number}"},
            )
            posted = _json(response).get("id")
            if not isinstance(posted, str):
                raise ChannelError("mastodon: the posted status has no id")
            first = first or posted
            parent = posted
        assert first is not None
        return first

    async def _get(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        return await self._request("GET", url, params=params)

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            response = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise ChannelError(f"mastodon {self.host}: {error!r}") from error
        if response.status_code == 429:
            raise ChannelError(
                f"mastodon {self.host}: rate limited",
                retry_after_s=retry_after(response, self.clock()),
            )
        if response.status_code >= 500:
            raise ChannelError(f"mastodon {self.host}: {response.status_code} on {method}")
        if response.status_code >= 400:
            raise ChannelError(
                f"mastodon {self.host}: {response.status_code} on {method} "
                f"{httpx.URL(url).path}: {response.text[:200]}",
                retry=False,
            )
        return response

    async def close(self) -> None:
        await self.client.aclose()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as error:
        raise ChannelError(f"mastodon: not JSON: {error}") from error
    if not isinstance(body, dict):
        raise ChannelError("mastodon: expected a JSON object")
    return body


def _list(response: httpx.Response) -> list[Any]:
    try:
        body = response.json()
    except ValueError as error:
        raise ChannelError(f"mastodon: not JSON: {error}") from error
    if not isinstance(body, list):
        raise ChannelError("mastodon: expected a JSON list of notifications")
    return body
