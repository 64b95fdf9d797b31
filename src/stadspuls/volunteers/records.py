"""Typed records of volunteers and call-outs; no I/O here. Times are UTC-aware.

A volunteer's name, e-mail address, home point and push subscription are personal data: they are
sealed at rest (`Sealer`, the volunteers' own key, context "volunteer:<id>") and appear in plain
text only in `VolunteerPrivate`, which the volunteer service hands to the volunteer themself (via a
signed link) and to the notifier. Staff never see a list of volunteers or their points: a
call-out shows its selected volunteers by rank, distance band, skills and answer, and the
nickname of those who accepted.
"""

from __future__ import annotations

from datetime import datetime, time

import msgspec

# Skills a volunteer may offer and a call-out may need (codes; labels are in the locale files).
SKILLS = (
    "first_aid",  # EHBO
    "cpr",  # reanimatie
    "aed",
    "bhv",  # bedrijfshulpverlening
    "care",  # zorg (nurse, carer): checking on elderly neighbours in a heat wave
    "car",  # has a car: transport, fetching
    "lifting",  # sandbags, carrying, clearing
    "languages",  # speaks languages beyond Dutch and English
)
CHANNELS = ("push", "email")
# pending: registered, e-mail not yet confirmed (never called; deleted after a while)
VOLUNTEER_STATES = ("pending", "active", "paused")
CALLOUT_STATES = ("open", "closed", "expired")
ANSWERS = ("accepted", "declined", "arrived")
CALLOUT_EVENT_KINDS = (
    "created",  # details: point, radius_km, skills, wanted, expires
    "selected",  # details: considered, eligible, selected, excluded counts by reason
    "sent",  # details: target rank, channel
    "delivery_failed",  # details: target rank, channel, error
    "answered",  # details: target rank, answer
    "extended",  # more volunteers selected (details: added)
    "closed",  # details: by, note
    "expired",
)
# Bounds the service enforces (errors name them); settings may narrow them.
MIN_RADIUS_KM = 0.1
MAX_RADIUS_KM = 50.0
MAX_WANTED = 200


class WeeklySpan(msgspec.Struct, frozen=True):
    """Available on `weekday` (0 = Monday) from `start` to `end`, local time (Europe/Amsterdam);
    `end` <= `start` runs past midnight."""

    weekday: int
    start: time
    end: time


class PushSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A browser's PushSubscription.toJSON(): where to send and the keys to encrypt for."""

    endpoint: str
    p256dh: str  # base64url, the browser's P-256 public key
    auth: str  # base64url, the 16-byte auth secret


class VolunteerPrivate(msgspec.Struct, frozen=True, kw_only=True):
    """The sealed part of a volunteer (JSON, AES-GCM, "volunteer:<id>")."""

    name: str  # a name or nickname, as they want to be addressed
    email: str
    lat: float
    lon: float
    place_label: str = ""  # what they typed: "3511", "Utrecht", or "" for a point on the map
    push: tuple[PushSubscription, ...] = ()
    # When the retention purge last asked an inactive volunteer whether they want to stay.
    reminded_at: datetime | None = None


class Volunteer(msgspec.Struct, frozen=True, kw_only=True):
    """What the service works with; `private` is None where it was not opened."""

    id: int | None = None
    state: str = "pending"  # one of VOLUNTEER_STATES
    radius_km: float = 5.0  # how far they are willing to go
    skills: tuple[str, ...] = ()
    availability: tuple[WeeklySpan, ...] = ()  # empty: any time
    channels: tuple[str, ...] = ("email",)
    lang: str = "nl"
    consent_version: str = ""
    consent_at: datetime | None = None
    created_at: datetime | None = None
    verified_at: datetime | None = None
    updated_at: datetime | None = None
    last_called_at: datetime | None = None
    private: VolunteerPrivate | None = None


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    """What the public form sends; exactly one of (lat, lon), postcode or place is given."""

    name: str
    email: str
    lat: float | None = None
    lon: float | None = None
    postcode: str | None = None  # 4 digits, "3511" (letters after it are ignored)
    place: str | None = None  # a place or municipality name
    radius_km: float = 5.0
    skills: tuple[str, ...] = ()
    availability: tuple[WeeklySpan, ...] = ()
    channels: tuple[str, ...] = ("email",)
    push: PushSubscription | None = None
    lang: str = "nl"
    consent: bool = False  # the consent text was ticked: nothing is stored without it


class Location(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved point inside the Netherlands, with what it was resolved from."""

    lat: float
    lon: float
    label: str  # "3511 Utrecht", "Utrecht", "52.0907, 5.1214"
    municipality_code: str | None = None  # "GM0344"
    municipality: str | None = None


class CallOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int | None = None
    title: str
    message: str  # what the volunteers read
    lat: float
    lon: float
    place_label: str = ""
    radius_km: float = 2.0
    skills: tuple[str, ...] = ()  # every one needed (empty: anyone)
    wanted: int = 30  # like HartslagNu
    expires_at: datetime
    alert_id: int | None = None
    state: str = "open"  # one of CALLOUT_STATES
    created_by: str = ""
    created_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A selected volunteer of a call-out, as staff see them: no name until they accept, no
    point ever; the distance only as a band."""

    id: int
    callout_id: int
    rank: int  # 1 = nearest
    volunteer_id: int | None  # None once the volunteer left (their data deleted)
    distance_m: int  # exact, for the log; pages show a band
    skills: tuple[str, ...] = ()
    reason: str = ""  # "1.2 km; eigen straal 5 km; EHBO, AED"
    selected_at: datetime
    reached: tuple[str, ...] = ()  # channels that took the notification
    answer: str | None = None  # one of ANSWERS
    answered_at: datetime | None = None
    arrived_at: datetime | None = None
    name: str | None = None  # only once accepted (for the operator to address them)


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """One result of the selection: an eligible volunteer and how far away they are."""

    volunteer_id: int
    distance_m: int
    skills: tuple[str, ...] = ()
    radius_km: float = 0.0


class Selection(msgspec.Struct, frozen=True, kw_only=True):
    """The nearest eligible volunteers, nearest first, with the counts the log keeps."""

    candidates: tuple[Candidate, ...]
    considered: int  # volunteers whose cells were read
    excluded: dict[str, int] = {}  # reason ("too_far", "own_radius", "skills", "hours",
    #   "paused", "daily_limit", "already_selected") -> count


class CallOutEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    callout_id: int
    at: datetime
    actor: str
    kind: str  # one of CALLOUT_EVENT_KINDS
    details: dict[str, object] = {}


class HistoryItem(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer's own history: each call-out they were selected for and what happened."""

    callout_id: int
    title: str
    at: datetime
    distance_m: int
    reached: tuple[str, ...]
    answer: str | None
    state: str  # the call-out's state
