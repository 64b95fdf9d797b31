"""API schemas: what the API promises, kept apart from the storage tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from stadspuls.records import ALERT_STATES, DETECTORS, LEGAL_BASES, Alert, Monitor, Post


class PlaceOut(BaseModel):
    code: str
    name: str
    municipality: str
    lat: float
    lon: float


_SEALED = (
    " The store keeps them sealed (encrypted under a key outside the database); the link to the"
    " original is opened only through the role-gated, audited POST /api/posts/{id}/link, with a"
    " reason."
)


class PostOut(BaseModel):
    id: str = Field(description="Keyed hash of the platform's id: it names no account.")
    source: str
    created_at: datetime
    text: str = Field(description="Handles, profile URLs and DIDs replaced by pseudonyms.")
    author_key: str | None
    url: None = Field(default=None, description="Always null." + _SEALED)
    lang: str | None
    lang_declared: str | None
    hashtags: list[str]
    mentions: list[str]
    link_count: int = Field(description="How many links the post has." + _SEALED)
    media_count: int = Field(description="How many media URLs the post has." + _SEALED)
    lat: float | None
    lon: float | None
    duplicate_of: str | None
    duplicate_kind: str | None
    sentiment: str | None
    sentiment_score: float | None
    incident_type: str | None
    incident_score: float | None
    incident_labels: list[str] = Field(
        description="Every incident type above its threshold, most likely first (set by the "
        "accurate stage; empty otherwise)."
    )
    humanitarian: str | None
    informativeness: str | None
    rumour_score: float | None
    places: list[PlaceOut]
    scored_by: str | None = Field(
        description='Whose scores these are: "accurate" (e5 embeddings, for posts that matched '
        'a monitor), "fast" (the door\'s models: a matched post the accurate stage had no time '
        "for), or null (the door's models: a post that matched no monitor)."
    )

    @classmethod
    def from_post(cls, post: Post) -> PostOut:
        return cls(
            id=post.id,
            source=post.source,
            created_at=post.created_at,
            text=post.text,
            author_key=post.author_key,
            lang=post.lang,
            lang_declared=post.lang_declared,
            hashtags=list(post.hashtags),
            mentions=list(post.mentions),
            link_count=len(post.links),
            media_count=len(post.media),
            lat=post.lat,
            lon=post.lon,
            duplicate_of=post.duplicate_of,
            duplicate_kind=post.duplicate_kind,
            sentiment=post.sentiment,
            sentiment_score=post.sentiment_score,
            incident_type=post.incident_type,
            incident_score=post.incident_score,
            incident_labels=list(post.incident_labels),
            humanitarian=post.humanitarian,
            informativeness=post.informativeness,
            rumour_score=post.rumour_score,
            scored_by=post.scored_by,
            places=[
                PlaceOut(**{f: getattr(p, f) for f in PlaceOut.model_fields}) for p in post.places
            ],
        )


class LinkIn(BaseModel):
    reason: Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")] = Field(
        description="Why the original is opened; written to the audit log (422 when empty)."
    )


class LinkOut(BaseModel):
    url: str


class PostPage(BaseModel):
    total: int
    limit: int
    offset: int
    posts: list[PostOut]


class VolumeBucket(BaseModel):
    start: datetime
    count: int


class VolumeOut(BaseModel):
    bucket_seconds: int
    buckets: list[VolumeBucket]


class StreamHealth(BaseModel):
    """One stream a source reads (a feed, a Mastodon timeline, Jetstream, a replay)."""

    source: str = Field(examples=["rss:https://feeds.nos.nl/nosnieuwsalgemeen"])
    state: str = Field(description="connecting, running, retrying, failed or stopped")
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    error_count: int = Field(description="Errors since the stream last worked.")
    next_retry: datetime | None
    updated: datetime


class ConsumerHealth(BaseModel):
    """A consumer of stored posts (monitor linker, detector): how far it is, how it fails."""

    name: str
    last_pk: int
    lag: int  # stored posts after its cursor (newest pk minus its cursor)
    failures: int
    last_error: str | None
    last_error_at: datetime | None


class Health(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    posts: int
    collecting: bool
    # Counters per source of this process (received, posts, malformed, ...).
    sources: dict[str, dict[str, int | str | None]]
    # Every stream's state: this process's collector, or as the collector last stored it.
    streams: list[StreamHealth] = Field(default_factory=list)
    # Every consumer's cursor, as stored (whichever process runs it).
    consumers: list[ConsumerHealth] = Field(default_factory=list)


LegalBasis = Literal["public-task", "vital-interest", "legitimate-interest", "police-task"]
assert set(LegalBasis.__args__) == set(LEGAL_BASES)  # type: ignore[attr-defined]

# PostgreSQL text cannot hold NUL; refusing it here answers 422 on both databases alike.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(min_length=1, pattern=NO_NUL)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
Days = Annotated[int, Field(ge=1, le=3650)]
Places = list[Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]]


class MonitorCreate(BaseModel):
    name: Name
    query: Text = Field(examples=["(stratumseind OR #stratumseind) lang:nl"])
    owner: Name | None = Field(default=None, description="Who answers for it; you, if left out.")
    purpose: Text = Field(description="Why this is watched (doelbinding).")
    legal_basis: LegalBasis
    retention_days: Days = 90
    places: Places = Field(default_factory=list)


def plain(value: msgspec.Struct) -> dict[str, Any]:
    """A record as the plain dict a response model validates."""
    fields: dict[str, Any] = msgspec.structs.asdict(value)
    return fields


def _not_nullable(schema: dict[str, Any]) -> None:
    """The schema of an optional field that may be left out but is never null."""
    schema.pop("default", None)
    variants = [v for v in schema.pop("anyOf", []) if v.get("type") != "null"]
    if variants:
        (value,) = variants
        schema.update(value)


def _keep() -> Any:
    return Field(default=None, json_schema_extra=_not_nullable)


class MonitorUpdate(BaseModel):
    """Only the fields given change. Null is refused (422): every field of a monitor has a
    value, and leaving a field out already means "keep it"."""

    name: Name | None = _keep()
    query: Text | None = _keep()
    owner: Name | None = _keep()
    purpose: Text | None = _keep()
    legal_basis: LegalBasis | None = _keep()
    retention_days: Days | None = _keep()
    places: Places | None = _keep()
    active: bool | None = _keep()

    # Defaults are not validated, so this sees only values the client sent.
    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value


class MonitorOut(BaseModel):
    id: int
    name: str
    query: str
    owner: str
    purpose: str
    legal_basis: str
    retention_days: int
    places: list[str]
    active: bool
    created_at: datetime | None
    updated_at: datetime | None
    posts: int

    @classmethod
    def from_monitor(cls, monitor: Monitor, posts: int) -> MonitorOut:
        assert monitor.id is not None
        return cls(
            id=monitor.id,
            name=monitor.name,
            query=monitor.query,
            owner=monitor.owner,
            purpose=monitor.purpose,
            legal_basis=monitor.legal_basis,
            retention_days=monitor.retention_days,
            places=list(monitor.places),
            active=monitor.active,
            created_at=monitor.created_at,
            updated_at=monitor.updated_at,
            posts=posts,
        )


class QueryErrorOut(BaseModel):
    detail: str
    column: int | None = None


# Alerts (issue 8). Who acts is the signed-in user (issue 9); an old client's `by` is ignored.
AlertState = Literal["open", "acknowledged", "resolved", "false_alarm"]
DetectorName = Literal["burst", "negative", "story", "rumour", "p2000"]
Note = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]
Channel = Annotated[
    str,
    StringConstraints(
        max_length=320,
        pattern=r"^(live|webhook:[A-Za-z0-9_.-]{1,64}|email:[^\s\x00@]+@[^\s\x00@]+)$",
    ),
]


class Evidence(BaseModel):
    """Where the posts behind an alert are: the monitor's posts in the alert's time range."""

    monitor_id: int
    since: datetime
    until: datetime
    posts_url: str = Field(examples=["/api/monitors/3/posts?since=…&until=…"])


class AlertOut(BaseModel):
    id: int
    monitor_id: int
    detector: str
    key: str = Field(description='What within the monitor: "" (all of it), a place, a story.')
    state: AlertState
    severity: str
    opened_at: datetime
    started_at: datetime
    updated_at: datetime
    triggers: int = Field(description="Signals folded into this alert.")
    observed: float
    expected: float
    summary: str
    top_terms: list[str]
    top_places: list[str]
    post_ids: list[str] = Field(description="Up to 5 representative posts (keyed ids).")
    details: dict[str, float | str] | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    note: str | None
    evidence: Evidence

    @classmethod
    def from_alert(cls, alert: Alert) -> AlertOut:
        assert alert.id is not None
        # The last trigger's post is at `updated_at`: the range ends just after it.
        until = alert.updated_at + timedelta(seconds=1)
        query = urlencode({"since": alert.started_at.isoformat(), "until": until.isoformat()})
        return cls(
            **{
                name: getattr(alert, name)
                for name in cls.model_fields
                if name not in ("evidence", "top_terms", "top_places", "post_ids")
            },
            top_terms=list(alert.top_terms),
            top_places=list(alert.top_places),
            post_ids=list(alert.post_ids),
            evidence=Evidence(
                monitor_id=alert.monitor_id,
                since=alert.started_at,
                until=until,
                posts_url=f"/api/monitors/{alert.monitor_id}/posts?{query}",
            ),
        )


class AlertPage(BaseModel):
    total: int
    limit: int
    offset: int
    alerts: list[AlertOut]


class AlertEventOut(BaseModel):
    id: int
    kind: str = Field(description="opened, updated, acknowledged, resolved or false_alarm")
    at: datetime
    actor: str | None
    alert: dict[str, Any] = Field(description="The alert as it was after this event.")


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    channel: str
    target: str
    state: str = Field(description="pending, delivered or failed")
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


class AlertDetail(AlertOut):
    events: list[AlertEventOut]
    deliveries: list[DeliveryOut]


class AcknowledgeIn(BaseModel):
    by: Name | None = Field(
        default=None,
        deprecated=True,
        description="Ignored: the signed-in user (or the API token's user) is who acts.",
    )
    note: Note | None = None


def _not_blank(value: str) -> str:
    # Python's idea of a space, which the store checks: the pattern's \s (Rust's regex in
    # pydantic-core) lets the separators \x1c-\x1f through, which str.strip() removes.
    if not value.strip():
        raise ValueError("a note needs some text")
    return value


class NoteIn(BaseModel):
    # Something besides spaces, and no NUL anywhere.
    note: Annotated[
        str, StringConstraints(max_length=10_000, pattern=NO_NUL), AfterValidator(_not_blank)
    ]


class ResolveIn(AcknowledgeIn):
    false_alarm: bool = False


class RuleIn(BaseModel):
    detector: DetectorName
    enabled: bool = True
    sensitivity: float = Field(default=1.0, ge=0.1, le=10)
    quiet_hours: str | None = Field(
        default=None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
        description="HH:MM-HH:MM, Europe/Amsterdam local time; only high alerts are delivered",
    )
    channels: list[Channel] = Field(default_factory=lambda: ["live"], max_length=20)
    params: dict[
        Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)],
        float | Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)],
    ] = Field(default_factory=dict, max_length=50)


class RuleOut(BaseModel):
    monitor_id: int
    detector: str
    enabled: bool
    sensitivity: float
    quiet_hours: str | None
    channels: list[str]
    params: dict[str, float | str | list[str]]


assert set(AlertState.__args__) == set(ALERT_STATES)  # type: ignore[attr-defined]
assert set(DetectorName.__args__) == set(DETECTORS)  # type: ignore[attr-defined]
