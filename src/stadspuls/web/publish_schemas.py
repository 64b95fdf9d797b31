"""API schemas of publishing: what /api/publications and /api/publish promise, kept apart from
the records (publish/records.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, Field, StringConstraints

from stadspuls.publish.records import (
    CrisisMode,
    Delivery,
    MediaItem,
    Preview,
    Publication,
    PublicationEvent,
    PublishTemplate,
    ResponseCount,
)
from stadspuls.web.schemas import plain

# No NUL anywhere (PostgreSQL cannot store one); the service says what else is wrong.
_NO_NUL = r"^[^\x00]*$"
_TEXT = r"^[^\x00]*[^\x00\s][^\x00]*$"
INT64_MAX = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
TargetName = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_NO_NUL)]
PublicationState = Literal["draft", "pending", "rejected", "approved", "published", "cancelled"]


class MediaIn(BaseModel):
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="The image's SHA-256 in the media vault"
    )
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    alt: Annotated[str, StringConstraints(max_length=1500, pattern=_NO_NUL)] = Field(
        description="The description every channel gets (required: not empty)"
    )
    width: Annotated[int, Field(ge=1, le=100_000)] | None = None
    height: Annotated[int, Field(ge=1, le=100_000)] | None = None


class PublicationIn(BaseModel):
    title: Annotated[str, StringConstraints(max_length=200, pattern=_NO_NUL)] = Field(
        description="The news page's heading (not posted to social media)"
    )
    body: Annotated[str, StringConstraints(max_length=20_000, pattern=_NO_NUL)]
    variants: dict[
        TargetName, Annotated[str, StringConstraints(max_length=20_000, pattern=_NO_NUL)]
    ] = Field(default={}, max_length=20, description="A text of its own per channel")
    link: Annotated[str, StringConstraints(max_length=1000, pattern=_NO_NUL)] | None = None
    media: list[MediaIn] = Field(default=[], max_length=4)
    targets: list[TargetName] = Field(
        default=["news"], max_length=20, description='"news", "mastodon", "bluesky", "webhook:NAME"'
    )
    lang: Literal["nl", "en"] = "nl"
    monitor_id: Id | None = Field(default=None, description="The monitor it is about")
    alert_id: Id | None = None
    template: Annotated[str, StringConstraints(max_length=100, pattern=_NO_NUL)] | None = None
    scheduled_at: datetime | None = Field(
        default=None, description="With a time zone; none: as soon as it is approved"
    )

    def record(self) -> Publication:
        return Publication(
            title=self.title,
            body=self.body,
            variants=dict(self.variants),
            link=self.link,
            media=tuple(MediaItem(**item.model_dump()) for item in self.media),
            targets=tuple(self.targets),
            lang=self.lang,
            monitor_id=self.monitor_id,
            alert_id=self.alert_id,
            template=self.template,
            scheduled_at=self.scheduled_at,
        )


class MediaOut(BaseModel):
    sha256: str
    content_type: str
    alt: str
    width: int | None
    height: int | None


class PublicationOut(BaseModel):
    id: int
    title: str
    body: str
    variants: dict[str, str]
    link: str | None
    media: list[MediaOut]
    targets: list[str]
    lang: str
    state: PublicationState
    monitor_id: int | None
    alert_id: int | None
    template: str | None
    scheduled_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    crisis: bool = Field(description="Approved by its author alone, under crisis mode")
    rejected_reason: str | None
    published_at: datetime | None
    slug: str | None

    @classmethod
    def of(cls, publication: Publication) -> PublicationOut:
        return cls.model_validate(msgspec.to_builtins(publication))


class PublicationPage(BaseModel):
    publications: list[PublicationOut]
    next_before_id: int | None = Field(
        description="Pass as before_id for the next (older) page; null on the last page"
    )


class DeliveryOut(BaseModel):
    id: int
    publication_id: int
    target: str
    state: Literal["pending", "sent", "failed"]
    attempts: int
    next_at: datetime | None
    last_error: str | None
    external_id: str | None
    url: str | None
    sent_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls.model_validate(plain(delivery))


class EventOut(BaseModel):
    id: int
    publication_id: int
    at: datetime
    actor: str
    kind: str
    details: dict[str, Any]

    @classmethod
    def of(cls, event: PublicationEvent) -> EventOut:
        return cls.model_validate(plain(event))


class PreviewOut(BaseModel):
    target: str
    parts: list[str]
    length: int
    limit: int | None
    fits: bool
    card_title: str | None
    card_description: str | None
    card_url: str | None
    warnings: list[str]

    @classmethod
    def of(cls, preview: Preview) -> PreviewOut:
        return cls.model_validate(msgspec.to_builtins(preview))


class ResponseOut(BaseModel):
    hour: datetime
    replies: int
    reposts: int
    quotes: int
    links: int
    negative: int
    positive: int
    monitor_posts: int | None = Field(description="The monitor's posts in that hour")
    monitor_negative: int | None

    @classmethod
    def of(cls, count: ResponseCount) -> ResponseOut:
        return cls.model_validate(plain(count))


class RejectIn(BaseModel):
    reason: Annotated[str, StringConstraints(max_length=2000, pattern=_TEXT)]


class TemplateIn(BaseModel):
    title: Annotated[str, StringConstraints(max_length=200, pattern=_TEXT)]
    body: Annotated[str, StringConstraints(max_length=20_000, pattern=_TEXT)] = Field(
        description="Placeholders in braces: {plaats}, {tijd}, {datum}, {onderwerp}, {advies},"
        " {link}, {organisatie}, {telefoon}"
    )
    lang: Literal["nl", "en"] = "nl"


class TemplateValuesIn(BaseModel):
    values: dict[
        Annotated[str, StringConstraints(max_length=40, pattern=_NO_NUL)],
        Annotated[str, StringConstraints(max_length=2000, pattern=_NO_NUL)],
    ] = Field(default={}, max_length=20, description='{"plaats": "Utrecht", ...}')


class FilledOut(BaseModel):
    """A template filled in: the start of a new publication."""

    template: str
    title: str
    body: str
    lang: str


class TemplateOut(BaseModel):
    id: int
    name: str
    title: str
    body: str
    lang: str
    updated_by: str
    updated_at: datetime

    @classmethod
    def of(cls, template: PublishTemplate) -> TemplateOut:
        return cls.model_validate(plain(template))


class CrisisIn(BaseModel):
    reason: Annotated[str, StringConstraints(max_length=2000, pattern=_TEXT)]
    hours: float = Field(gt=0, le=24 * 7, description="At most publish.crisis_max_hours")


class CrisisOut(BaseModel):
    id: int
    declared_by: str
    declared_at: datetime
    until: datetime
    reason: str
    ended_by: str | None
    ended_at: datetime | None

    @classmethod
    def of(cls, crisis: CrisisMode) -> CrisisOut:
        return cls.model_validate(plain(crisis))
