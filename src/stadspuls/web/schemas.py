"""API schemas: what the API promises, kept apart from the storage tables."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from stadspuls.records import LEGAL_BASES, Monitor, Post


class PlaceOut(BaseModel):
    code: str
    name: str
    municipality: str
    lat: float
    lon: float


_SEALED = (
    " The store keeps them sealed (encrypted under a key outside the database): the API returns"
    " no link to the original until the role-gated, audited read path exists."
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
    humanitarian: str | None
    informativeness: str | None
    rumour_score: float | None
    places: list[PlaceOut]

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
            humanitarian=post.humanitarian,
            informativeness=post.informativeness,
            rumour_score=post.rumour_score,
            places=[
                PlaceOut(**{f: getattr(p, f) for f in PlaceOut.model_fields}) for p in post.places
            ],
        )


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


LegalBasis = Literal["public-task", "vital-interest", "legitimate-interest", "police-task"]
assert set(LegalBasis.__args__) == set(LEGAL_BASES)  # type: ignore[attr-defined]


class MonitorCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, examples=["(stratumseind OR #stratumseind) lang:nl"])
    owner: str = Field(default="analyst", min_length=1, max_length=200)
    purpose: str = Field(min_length=1, description="Why this is watched (doelbinding).")
    legal_basis: LegalBasis
    retention_days: int = Field(default=90, ge=1, le=3650)
    places: list[str] = Field(default_factory=list)


class MonitorUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    query: str | None = Field(default=None, min_length=1)
    owner: str | None = None
    purpose: str | None = Field(default=None, min_length=1)
    legal_basis: LegalBasis | None = None
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    places: list[str] | None = None
    active: bool | None = None


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
