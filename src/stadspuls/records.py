"""Frozen, typed records shared by every stage. No I/O here; every datetime is UTC-aware.

A source maps raw payloads to `Post` (with the raw author handle in `author`); the door
(`stadspuls.enrich`) replaces that handle by a keyed pseudonym in `author_key` and fills the
enrichment fields; the store refuses a post whose `author` is still set.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


class Place(msgspec.Struct, frozen=True):
    """A Dutch municipality (or one of its main places) recognised in a post's text."""

    code: str  # CBS municipality code, e.g. "GM0363"
    name: str  # the name as matched, e.g. "Den Bosch"
    municipality: str  # the official municipality name, e.g. "'s-Hertogenbosch"
    lat: float
    lon: float


class Post(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # "source:native_id", stable across re-imports
    source: str  # "bluesky", "mastodon", "rss", "p2000", "twitter", "4cat", "csv"
    native_id: str
    created_at: datetime  # UTC
    text: str
    author: str | None = None  # raw handle: set by sources, removed by the door
    author_key: str | None = None  # keyed pseudonym (HMAC-SHA256), set by the door
    url: str | None = None
    lang_declared: str | None = None  # ISO 639-1 as declared by the platform
    lang: str | None = None  # ISO 639-1 as identified at the door
    lang_score: float | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()  # pseudonymised at the door unless switched off
    links: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    reply_to: str | None = None  # post id
    repost_of: str | None = None  # post id
    content_hash: str | None = None  # hash of the normalised text (exact duplicates)
    simhash: int | None = None  # 64-bit SimHash of the word shingles (signed, fits BIGINT)
    duplicate_of: str | None = None  # id of the first post seen with (nearly) the same text
    duplicate_kind: str | None = None  # "exact" | "near" | "repost"
    sentiment: str | None = None  # "negative" | "neutral" | "positive"
    sentiment_score: float | None = None  # calibrated P(label)
    incident_type: str | None = None
    incident_score: float | None = None
    humanitarian: str | None = None
    informativeness: str | None = None
    rumour_score: float | None = None
    places: tuple[Place, ...] = ()
    collected_at: datetime | None = None
    # Source-specific fields the platform gives beside the text (P2000: service, priority,
    # capcodes, dispatch code, place); a list value keeps the platform's order.
    meta: dict[str, str | list[str]] | None = None


class Deletion(msgspec.Struct, frozen=True):
    """An author's deletion of a post; the store removes the post when it sees one."""

    id: str  # "source:native_id"
    at: datetime


class Checkpoint(msgspec.Struct, frozen=True):
    """A position in a source's stream: stored in the same transaction as the posts before it.

    `stream` names one resumable stream, e.g. "jetstream" or "mastodon:social.example:public";
    `cursor` is opaque to everything but the source that emitted it.
    """

    stream: str
    cursor: str


SourceItem = Post | Deletion | Checkpoint

# The legal bases a monitor can rest on (AVG/GDPR art. 6(1)(e), (d), (f); Wpg for the police).
LEGAL_BASES = {
    "public-task": "Public task (AVG art. 6(1)(e))",
    "vital-interest": "Vital interest (AVG art. 6(1)(d))",
    "legitimate-interest": "Legitimate interest (AVG art. 6(1)(f))",
    "police-task": "Police task (Wet politiegegevens)",
}


class Monitor(msgspec.Struct, frozen=True, kw_only=True):
    """A watched place or topic: a query with the purpose and legal basis that allow it."""

    id: int | None = None
    name: str
    query: str
    owner: str
    purpose: str
    legal_basis: str  # a key of LEGAL_BASES
    retention_days: int
    places: tuple[str, ...] = ()  # optional: only posts about these places
    active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None


def utc(dt: datetime) -> datetime:
    """Return `dt` as a UTC-aware datetime; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
