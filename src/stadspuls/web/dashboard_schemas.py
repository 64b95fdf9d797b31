"""The dashboard's JSON as the OpenAPI schema describes it.

The routes encode the read service's views (`service.views`) with msgspec, which is fast for the
overview's hundreds of points; these models only document that JSON (and a test validates real
answers against them, with extra fields forbidden, so the two cannot drift apart)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonitorOut(_Out):
    id: int | None
    name: str
    query: str = Field(description="Empty for a viewer: a query may name a person")
    owner: str
    purpose: str
    legal_basis: str
    retention_days: int
    places: list[str]
    active: bool
    created_at: AwareDatetime | None
    updated_at: AwareDatetime | None


class PointOut(_Out):
    start: AwareDatetime
    posts: int | None = Field(description="null: withheld (fewer than 5 distinct authors)")
    negative: int | None
    neutral: int | None
    positive: int | None
    expected: float | None = Field(description="median of the same bucket 1-4 weeks before")
    low: float | None
    high: float | None


class SeriesOut(_Out):
    bucket_seconds: int
    points: list[PointOut]
    suppressed: int


class CountOut(_Out):
    value: str
    label: str
    posts: int
    authors: int | None


class FacetsOut(_Out):
    types: list[CountOut]
    tags: list[CountOut]
    places: list[CountOut]
    terms: list[CountOut]
    langs: list[CountOut]
    sources: list[CountOut]
    suppressed: int
    terms_sample: int = Field(description="the newest posts of the range the terms come from")


class StoryOut(_Out):
    monitor_id: int
    key: str
    first_at: AwareDatetime
    last_at: AwareDatetime
    posts: int
    authors: int
    top_terms: list[str]
    places: list[str]
    incident_type: str | None
    incident_types: list[str] = Field(
        default=[], description='the story\'s incident types, primary first ("explosion", "fire")'
    )
    rumour_score: float | None
    post_ids: list[str]


class MonitorSummaryOut(_Out):
    monitor: MonitorOut
    spark: SeriesOut
    posts_24h: int | None
    expected_24h: float | None
    negative_share: float | None
    open_alerts: int
    worst_severity: str | None
    last_post_at: AwareDatetime | None
    attention: float


class OverviewOut(_Out):
    generated_at: AwareDatetime
    monitors: list[MonitorSummaryOut]
    open_alerts: int


class MonitorViewOut(_Out):
    monitor: MonitorOut
    since: AwareDatetime
    until: AwareDatetime
    series: SeriesOut
    facets: FacetsOut
    stories: list[StoryOut]
    open_alerts: int
    total: int | None


class PlaceCountOut(_Out):
    code: str
    name: str
    posts: int | None
    negative_share: float | None


class MapViewOut(_Out):
    monitor_id: int | None
    since: AwareDatetime
    until: AwareDatetime
    places: list[PlaceCountOut]
    suppressed: int
