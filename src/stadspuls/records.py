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
    # every incident type above its threshold, most likely first
    incident_labels: tuple[str, ...] = ()
    humanitarian: str | None = None
    informativeness: str | None = None
    rumour_score: float | None = None
    places: tuple[Place, ...] = ()
    scored_by: str | None = None  # "fast" (the door) or "accurate"
    collected_at: datetime | None = None
    # Source-specific fields the platform gives beside the text (P2000: service, priority,
    # capcodes, dispatch code, place); a list value keeps the platform's order.
    meta: dict[str, str | list[str]] | None = None
    # What the full-text index stores for `text` (`query.text.index_text`), set by the door so
    # that the writer does not fold it again; not a column of `posts`, None on a post read back.
    index_body: str | None = None


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


DETECTORS = ("burst", "negative", "story", "rumour", "p2000")
SEVERITIES = ("low", "medium", "high")
ALERT_STATES = ("open", "acknowledged", "resolved", "false_alarm")


class Signal(msgspec.Struct, frozen=True, kw_only=True):
    """What a detector saw in one monitor's stream: the input of an alert.

    A detector emits a signal for every post that finds its monitor in an abnormal state; the
    alert layer opens an alert for the first and updates it with the ones that follow
    (same monitor, detector and `key`, within the cooldown). Times are event times (the posts'
    `created_at`), so a replay of last year raises the alerts it would have raised then.
    """

    monitor_id: int
    detector: str  # one of DETECTORS
    key: str = ""  # what the alert is about within the monitor: "" (the whole monitor), a
    # place code ("GM0772"), a story id, a P2000 message id
    at: datetime  # the time of the post that triggered it (UTC)
    started_at: datetime  # start of the abnormal window (evidence time range starts here)
    observed: float  # e.g. posts in the last window, share negative, distinct authors
    expected: float  # what the baseline expected for the same window
    severity: str = "medium"  # one of SEVERITIES
    summary: str = ""  # one line for a duty officer, English ("12 posts in 10 min, 1.5 expected")
    top_terms: tuple[str, ...] = ()
    top_places: tuple[str, ...] = ()  # place names
    post_ids: tuple[str, ...] = ()  # up to 5 representative (stored, keyed) post ids
    details: dict[str, float | str] | None = None  # detector-specific numbers


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert as an operator handles it: open -> acknowledged -> resolved | false_alarm."""

    id: int | None = None
    monitor_id: int
    detector: str
    key: str = ""
    state: str = "open"  # one of ALERT_STATES
    severity: str = "medium"
    opened_at: datetime  # when it was raised (the first signal's `at`)
    started_at: datetime  # start of the abnormal window
    updated_at: datetime  # the last signal's `at`
    triggers: int = 1  # signals folded into this alert
    observed: float
    expected: float
    summary: str = ""
    top_terms: tuple[str, ...] = ()
    top_places: tuple[str, ...] = ()
    post_ids: tuple[str, ...] = ()
    details: dict[str, float | str] | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    closed_by: str | None = None  # who resolved it or called it a false alarm
    closed_at: datetime | None = None
    note: str | None = None


class Story(msgspec.Struct, frozen=True, kw_only=True):
    """A cluster of similar posts in one monitor's stream (the story detector's unit)."""

    monitor_id: int
    key: str  # stable id of the story within the detector
    first_at: datetime
    last_at: datetime
    posts: int
    authors: int  # distinct author pseudonyms
    top_terms: tuple[str, ...] = ()
    places: tuple[str, ...] = ()  # place names, most frequent first
    incident_type: str | None = None  # majority incident type of its posts
    incident_types: tuple[str, ...] = ()  # its types, primary first ("explosion", "fire")
    rumour_score: float | None = None  # mean rumour likelihood of its posts
    post_ids: tuple[str, ...] = ()  # the stored ids of its posts (capped)


# Roles, lowest first: each has every permission of the ones before it. Re-identification
# (turning a handle into its pseudonym) is a separate permission a user holds or not.
ROLES = ("viewer", "analyst", "admin")
# What each permission allows; `stadspuls.access.roles` maps roles onto them.
PERMISSIONS = {
    "aggregates": "counts, charts and maps over at least 5 distinct authors (viewer and up)",
    "posts": "post texts, monitors and alerts (analyst and up)",
    "cases": "citizens' questions and tips of one's own departments (analyst and up)",
    "publish": "compose publications for the organisation's channels (analyst and up)",
    "approve": "approve another person's publication, declare crisis mode (admin)",
    "callouts": "call out volunteers near a point and follow their answers (analyst and up)",
    "admin": "users, settings and the audit log (admin)",
    "reidentify": "turn a handle into its pseudonym, with a reason (a separate grant)",
}


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is acting: every read of stored data and every change names one."""

    user_id: int | None  # None for the system and for the command line without a user
    username: str
    role: str  # one of ROLES
    reidentify: bool = False
    via: str = "session"  # "session" | "token" | "cli" | "system"


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: int | None = None
    username: str
    display_name: str = ""
    role: str = "viewer"  # one of ROLES
    reidentify: bool = False
    active: bool = True
    totp: bool = False  # whether a second factor is set up
    oidc_subject: str | None = None  # "issuer|sub" for users who log in through OIDC
    created_at: datetime | None = None
    last_login_at: datetime | None = None


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the append-only audit log: a view of post texts, a re-identification, or a
    change an admin made (users, monitors, settings)."""

    id: int | None = None
    at: datetime
    actor: str  # username ("system" for the system)
    user_id: int | None = None
    role: str
    action: str  # "posts.view", "posts.export", "reidentify", "link.open", "user.add", ...
    monitor_id: int | None = None
    query: str | None = None
    posts: int = 0  # how many posts (texts) the action showed
    reason: str | None = None
    details: dict[str, str | int | float | bool | None] | None = None


def utc(dt: datetime) -> datetime:
    """Return `dt` as a UTC-aware datetime; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
