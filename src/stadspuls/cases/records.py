"""Typed records of the inbox: departments, routing rules, calls for tips, cases, their history,
replies and media. Shared by the channels (what comes in), the case service, the media intake
and the web; no I/O here. Times are UTC-aware.

A case is one citizen's question or tip, from any channel. Its contact details and the address a
reply goes to (an e-mail address, a handle, a status id) are personal data the organisation
processes on purpose: they never appear in these records in plain text except in `Contact`, which
only the case service hands out, to members of the case's department, and audits.
"""

from __future__ import annotations

from datetime import datetime, time

import msgspec

# A case moves forward through these states; "waiting" means waiting for the citizen. A new
# message from the citizen reopens an answered or waiting case as "assigned" (or "new").
CASE_STATES = ("new", "assigned", "waiting", "answered", "closed")
CASE_KINDS = ("question", "tip")
# Where a case came from; a reply goes back over the same channel (a web report without an
# e-mail address is answered on its status page).
CHANNELS = ("web", "email", "mastodon", "bluesky")
# What a call for tips can ask besides the report's own fields.
QUESTION_KINDS = ("text", "choice", "photo", "location", "time")
# Kinds of history events (the append-only `case_events` table).
EVENT_KINDS = (
    "created",  # the case was opened from a message (details: channel, call)
    "routed",  # a rule (or the fallback) chose the department (details: rule, explanation)
    "rerouted",  # a person moved it to another department (details: from, to, note)
    "assigned",  # details: assignee (None: unassigned)
    "state",  # details: from, to
    "note",  # an internal note (details: text)
    "message_in",  # a further message from the citizen
    "reply",  # a reply was queued (details: template, channel)
    "auto_reply",  # the out-of-hours reply was queued
    "delivered",  # a reply reached its channel (details: channel, external id)
    "delivery_failed",  # a reply was given up (details: error)
    "contact.view",  # someone saw the contact details (also in the audit log)
    "media.view",  # someone opened an original (also in the audit log)
    "media.download",
    "media.export",
)


class OpeningSpan(msgspec.Struct, frozen=True):
    """One opening span on a weekday, local time (Europe/Amsterdam), `start` < `end`."""

    start: time
    end: time


class OfficeHours(msgspec.Struct, frozen=True, kw_only=True):
    """Opening hours per weekday (0 = Monday … 6 = Sunday); Dutch public holidays are closed
    unless `open_on_holidays`. `always_open` is a 24/7 desk (a control room)."""

    week: dict[int, tuple[OpeningSpan, ...]] = {}
    open_on_holidays: bool = False
    always_open: bool = False
    timezone: str = "Europe/Amsterdam"


class Department(msgspec.Struct, frozen=True, kw_only=True):
    id: int | None = None
    slug: str  # "handhaving", "wijkzaken"; stable, used in routing rules and URLs
    name: str  # shown to staff and, in replies, to citizens
    hours: OfficeHours = OfficeHours()
    # Service levels: first response and resolution, in hours of the clock (not office hours),
    # None: no timer. A case past one is shown as overdue.
    first_response_hours: float | None = 8.0
    resolution_hours: float | None = 5 * 24.0
    # Closed cases, their contact details and media are deleted this many days after closing
    # (5 years is what Signalen keeps under the Archiefwet).
    retention_days: int = 5 * 365
    # The out-of-hours reply, a template name (None: the built-in one).
    auto_reply_template: str | None = None
    active: bool = True


class RoutingRule(msgspec.Struct, frozen=True, kw_only=True):
    """Send a message to `department_id` when every given condition holds; rules are tried by
    `position` (lowest first), the first that matches wins."""

    id: int | None = None
    department_id: int
    position: int = 0
    name: str
    query: str | None = None  # the monitor query language, over subject + text
    categories: tuple[str, ...] = ()  # any of these report categories
    places: tuple[str, ...] = ()  # any of these CBS municipality codes ("GM0772") or names
    languages: tuple[str, ...] = ()  # any of these ISO 639-1 codes
    kinds: tuple[str, ...] = ()  # any of CASE_KINDS
    active: bool = True


class RouteDecision(msgspec.Struct, frozen=True, kw_only=True):
    department_id: int
    rule_id: int | None  # None: the fallback department took it
    explanation: str  # "regel 'Afval in Eindhoven': categorie afval, gemeente GM0772"


class ReplyTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A reply in the organisation's one tone of voice, with placeholders such as {naam},
    {referentie}, {afdeling}, {openingstijden}, {volgende_opening}; reviewed by communications
    before use (`reviewed_by` set)."""

    id: int | None = None
    name: str  # unique, e.g. "ontvangen", "buiten-kantoortijd", "doorverwezen"
    language: str = "nl"
    subject: str = ""
    body: str
    department_id: int | None = None  # None: every department may use it
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None  # the last editor (set by the store): the reviewer is another


class CallQuestion(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # stable within the call, [a-z0-9_]+
    label: str
    kind: str = "text"  # one of QUESTION_KINDS
    required: bool = False
    choices: tuple[str, ...] = ()  # for kind "choice"
    help: str = ""


class Call(msgspec.Struct, frozen=True, kw_only=True):
    """A call for tips ("oproep"), with its own public page `/oproep/<slug>`."""

    id: int | None = None
    slug: str
    title: str  # "Getuigen gezocht: brand Stationsstraat, 12 mei"
    description: str = ""
    department_id: int
    monitor_id: int | None = None  # posts matching it are shown beside the tips
    questions: tuple[CallQuestion, ...] = ()
    starts_at: datetime
    ends_at: datetime | None = None
    # Where and when the incident was: photos are checked against these.
    lat: float | None = None
    lon: float | None = None
    incident_at: datetime | None = None
    created_by: str = ""
    created_at: datetime | None = None
    closed: bool = False


class AcceptedMedia(msgspec.Struct, frozen=True, kw_only=True):
    """A photo or video that passed the intake checks: its original is in the vault under its
    SHA-256, its derived files (thumbnail, metadata-stripped copy) are written. Not yet part of
    a case: the case service stores it with the case."""

    sha256: str
    size: int
    content_type: str  # by content: "image/jpeg", "image/png", "image/webp", "video/mp4", ...
    filename: str = ""  # as the citizen's device named it (shown, never trusted)
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None  # EXIF DateTimeOriginal (with its offset, else local)
    lat: float | None = None  # EXIF GPS
    lon: float | None = None
    phash: str | None = None  # 64-bit perceptual hash, hex (images only)
    c2pa: str | None = None  # JSON summary of C2PA content credentials, if any
    received_at: datetime


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """Who wrote and where a reply goes. Sealed at rest; opened only by the case service."""

    name: str | None = None
    email: str | None = None
    handle: str | None = None  # "@user@instance" or a Bluesky handle/DID
    # Channel-specific address of the conversation: the Message-ID to answer, the status id or
    # the post's URI and CID to reply to.
    reply_to: str | None = None


class InboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """What a channel hands the case service. `external_id` is unique per channel (Message-ID,
    notification id, post URI, the web form's submission id): receiving it twice is a no-op."""

    channel: str  # one of CHANNELS
    external_id: str
    received_at: datetime
    kind: str = "question"  # one of CASE_KINDS
    subject: str = ""
    text: str
    language: str | None = None  # None: the service identifies it
    category: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None  # as typed
    occurred_at: datetime | None = None
    contact: Contact = Contact()
    consent: bool = False  # the citizen agreed to the consent text
    call_slug: str | None = None
    answers: dict[str, str] = {}  # a call's questions: key -> answer
    media: tuple[AcceptedMedia, ...] = ()
    # A further message in an existing conversation (an e-mail reply, a reply to our reply).
    in_reply_to_case: int | None = None


class Case(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    reference: str  # shown to the citizen: "SP-2026-000123"
    channel: str
    kind: str
    state: str
    department_id: int
    rule_id: int | None = None
    route_explanation: str = ""
    assignee_id: int | None = None
    call_id: int | None = None
    subject: str = ""
    text: str
    language: str | None = None
    category: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    place_code: str | None = None  # CBS municipality code, from the point or the text
    place_name: str | None = None
    occurred_at: datetime | None = None
    answers: dict[str, str] = {}
    has_contact: bool = False
    media_count: int = 0
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None


class CaseEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int | None = None
    case_id: int
    at: datetime
    actor: str  # username, "system", or "citizen"
    kind: str  # one of EVENT_KINDS
    details: dict[str, str | int | float | bool | None] = {}


class CaseMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message in a case's conversation: in from the citizen, or out (a reply)."""

    id: int | None = None
    case_id: int
    direction: str  # "in" | "out"
    channel: str
    at: datetime
    text: str
    subject: str = ""
    author: str = ""  # the staff member for "out"; "" for the citizen
    template: str | None = None
    # For "out": "queued" | "sent" | "failed" | "status_page" (shown on the status page only)
    delivery: str | None = None


class MediaItem(msgspec.Struct, frozen=True, kw_only=True):
    """A stored photo or video of a case, with what verification found."""

    id: int
    case_id: int
    sha256: str
    size: int
    content_type: str
    filename: str = ""
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    phash: str | None = None
    c2pa: str | None = None
    received_at: datetime
    # The group of near-identical photos this one belongs to (the id of the group's first).
    group_id: int | None = None
