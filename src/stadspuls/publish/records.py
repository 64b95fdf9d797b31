"""Typed records of publishing (zenden): publications, their deliveries per channel, templates,
crisis mode and the response a publication drew. Shared by the service, the channel senders,
the response linker and the web; no I/O here. Times are UTC-aware.

A publication is written once and goes to several targets: "news" (the organisation's own news
page and its RSS/Atom feeds, served by Stadspuls), "mastodon" and "bluesky" (the organisation's
accounts of the inbox settings), and "webhook:NAME" (a signed POST to a configured webhook).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

# draft -> pending (submitted for approval) -> approved (waits for its time, if scheduled)
# -> published (every target handed to its outbox row; a row's own state says whether it went)
# A pending publication can be rejected (back to the author with a reason, who may edit and
# resubmit: rejected -> draft); anything not yet published can be cancelled.
PUBLICATION_STATES = ("draft", "pending", "rejected", "approved", "published", "cancelled")
# Targets that are not webhooks; a webhook target is "webhook:<name of Settings.webhooks>".
FIXED_TARGETS = ("news", "mastodon", "bluesky")
DELIVERY_STATES = ("pending", "sent", "failed")
EVENT_KINDS = (
    "created",
    "edited",  # details: fields changed
    "submitted",
    "approved",  # details: crisis (bool): approved by the author alone in crisis mode
    "rejected",  # details: reason
    "cancelled",
    "scheduled",  # details: at
    "published",  # the publication's time came: its deliveries were queued
    "delivered",  # details: target, external_id, url
    "delivery_failed",  # details: target, error, final (bool)
)
RESPONSE_KINDS = ("reply", "repost", "quote", "link")


class MediaItem(msgspec.Struct, frozen=True, kw_only=True):
    """An image attached to a publication: a file in the media vault (by SHA-256) with the alt
    text every channel gets (required: a publication is for everyone)."""

    sha256: str
    content_type: str  # "image/jpeg" | "image/png" | "image/webp"
    alt: str
    width: int | None = None
    height: int | None = None


class Publication(msgspec.Struct, frozen=True, kw_only=True):
    id: int | None = None
    title: str  # the news page's heading and the feed item's title; not posted to social media
    body: str  # the text; `variants` may replace it per target
    variants: dict[str, str] = {}  # target -> its own text (e.g. a shorter one for Bluesky)
    link: str | None = None  # a link to carry (a link card where the channel makes one)
    media: tuple[MediaItem, ...] = ()
    targets: tuple[str, ...] = ("news",)
    lang: str = "nl"
    state: str = "draft"  # one of PUBLICATION_STATES
    monitor_id: int | None = None  # what it is about: its response is shown next to this monitor
    alert_id: int | None = None
    template: str | None = None  # the template it was composed from, if any
    scheduled_at: datetime | None = None  # None: as soon as it is approved
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    submitted_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    crisis: bool = False  # approved by its author alone, under crisis mode
    rejected_reason: str | None = None
    published_at: datetime | None = None
    slug: str | None = None  # the news page's address: /nieuws/<id>-<slug>


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One publication to one target: its own outbox row, retried with back-off, never
    blocking the other targets."""

    id: int
    publication_id: int
    target: str
    state: str  # one of DELIVERY_STATES
    attempts: int = 0
    next_at: datetime | None = None
    last_error: str | None = None
    external_id: str | None = None  # status id, at:// URI, news item id
    url: str | None = None  # where the public can see it
    sent_at: datetime | None = None


class PublicationEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    publication_id: int
    at: datetime
    actor: str
    kind: str  # one of EVENT_KINDS
    details: dict[str, object] = {}


class PublishTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """One tone of voice: a title and body with placeholders ({plaats}, {tijd}, {link}, …),
    rendered by `cases.replies`'s placeholder rules."""

    id: int | None = None
    name: str
    title: str
    body: str
    lang: str = "nl"
    updated_by: str = ""
    updated_at: datetime | None = None


class CrisisMode(msgspec.Struct, frozen=True, kw_only=True):
    """Declared by someone with "approve": until it ends or expires, a publication may be
    approved by its own author (logged as such)."""

    id: int
    declared_by: str
    declared_at: datetime
    until: datetime
    reason: str
    ended_by: str | None = None
    ended_at: datetime | None = None


class Preview(msgspec.Struct, frozen=True, kw_only=True):
    """What one target will show: the text as posted (or the parts of a thread), its length
    as the channel counts it, the limit, and the link card, if any."""

    target: str
    parts: tuple[str, ...]
    length: (
        int  # of the longest part, as the channel counts (Mastodon: URLs 23; Bluesky: graphemes)
    )
    limit: int | None
    fits: bool
    card_title: str | None = None
    card_description: str | None = None
    card_url: str | None = None
    warnings: tuple[str, ...] = ()


class ResponseCount(msgspec.Struct, frozen=True, kw_only=True):
    """One hour after publishing: the responses to our message and the monitor beside it."""

    hour: datetime
    replies: int = 0
    reposts: int = 0
    quotes: int = 0
    links: int = 0
    negative: int = 0  # responses with negative sentiment
    positive: int = 0
    monitor_posts: int | None = None  # the monitor's volume in that hour (None: no monitor)
    monitor_negative: int | None = None
