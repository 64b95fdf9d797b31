"""API schemas: what the API promises, kept apart from the storage tables."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from stadspuls.records import Post


class PlaceOut(BaseModel):
    code: str
    name: str
    municipality: str
    lat: float
    lon: float


class PostOut(BaseModel):
    id: str
    source: str
    created_at: datetime
    text: str
    author_key: str | None
    url: str | None
    lang: str | None
    lang_declared: str | None
    hashtags: list[str]
    mentions: list[str]
    links: list[str]
    media: list[str]
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
            url=post.url,
            lang=post.lang,
            lang_declared=post.lang_declared,
            hashtags=list(post.hashtags),
            mentions=list(post.mentions),
            links=list(post.links),
            media=list(post.media),
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


class Health(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    posts: int
    collecting: bool
    sources: dict[str, dict[str, int | str | None]]
