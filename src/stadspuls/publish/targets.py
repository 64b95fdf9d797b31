"""The one interface every publishing target implements, and what a send returns.

A target is one of the organisation's channels: "news" (our own page and feeds: sending records
the item as published), "mastodon", "bluesky", "webhook:NAME". The outbox (`publish.outbox`)
calls `send` for one delivery row at a time; a target never waits for another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from stadspuls.publish.records import Delivery, Preview, Publication

# Reads a publication's image by SHA-256 from the media vault.
MediaLoader = Callable[[str], bytes]


class Sent(msgspec.Struct, frozen=True, kw_only=True):
    external_id: str  # status id, at:// URI of the first post, news item id, webhook delivery id
    url: str | None = None  # where the public sees it


class SendError(Exception):
    """A send that did not go. `permanent`: retrying cannot help (refused as invalid, a missing
    account, a text too long); otherwise it is retried with back-off. `retry_after_s` is the
    channel's own wait (HTTP 429 Retry-After / X-RateLimit-Reset), if it said."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class PublishTarget(Protocol):
    name: str  # the target's name as stored in Publication.targets
    limit: int | None  # the channel's length limit as it counts (None: none)

    def preview(self, publication: Publication, *, public_url: str | None) -> Preview:
        """What this target will post, without sending: parts, length, fit, link card."""
        ...

    async def send(self, publication: Publication, delivery: Delivery, media: MediaLoader) -> Sent:
        """Post it. Idempotent per delivery where the channel allows (an Idempotency-Key from
        the delivery id on Mastodon; a record key from it on Bluesky; the delivery id in the
        webhook's headers). Raises SendError."""
        ...

    async def aclose(self) -> None: ...
