"""What the read service returns: typed, frozen views that the pages, the API and the command
line render. Aggregates a viewer may not see (fewer than MIN_AUTHORS distinct authors) are None,
never a made-up number; `suppressed` says how many were withheld."""

from __future__ import annotations

from datetime import datetime

import msgspec

from stadspuls.records import Alert, Monitor, Story


class Point(msgspec.Struct, frozen=True, kw_only=True):
    """One time bucket of a monitor's volume and sentiment."""

    start: datetime  # UTC
    posts: int | None  # None: withheld (fewer than MIN_AUTHORS distinct authors)
    negative: int | None = None
    neutral: int | None = None
    positive: int | None = None
    # The seasonal expectation for this bucket (same hour of the week over the weeks before),
    # and its band (e.g. the 10th and 90th percentile); None while there is too little history.
    expected: float | None = None
    low: float | None = None
    high: float | None = None


class Series(msgspec.Struct, frozen=True, kw_only=True):
    bucket_seconds: int  # 3600 or 86400
    points: tuple[Point, ...]
    suppressed: int = 0  # buckets withheld from this actor


class Count(msgspec.Struct, frozen=True, kw_only=True):
    """A facet value (hashtag, municipality code, incident type, term, language, source)."""

    value: str
    label: str  # what to show: the municipality's name for a code, the value itself otherwise
    posts: int
    authors: int | None = None  # distinct authors, where known


class Facets(msgspec.Struct, frozen=True, kw_only=True):
    types: tuple[Count, ...] = ()
    tags: tuple[Count, ...] = ()
    places: tuple[Count, ...] = ()  # value: CBS code ("GM0363"), label: municipality name
    terms: tuple[Count, ...] = ()
    langs: tuple[Count, ...] = ()
    sources: tuple[Count, ...] = ()
    suppressed: int = 0  # values withheld from this actor
    # `terms` are counted in the newest posts of the range, at most 2,000: how many were read.
    terms_sample: int = 0


class MonitorSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the overview."""

    monitor: Monitor
    spark: Series  # the last 24 hours, hourly, with the expected band
    posts_24h: int | None
    expected_24h: float | None
    negative_share: float | None  # of the posts with a sentiment, last 24 hours
    open_alerts: int
    worst_severity: str | None  # of its open alerts
    last_post_at: datetime | None
    # Higher needs attention sooner: open alerts first (by severity), then volume above its
    # band, then negative share. The overview is sorted by it, descending.
    attention: float


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    generated_at: datetime
    monitors: tuple[MonitorSummary, ...]
    open_alerts: int


class MonitorView(msgspec.Struct, frozen=True, kw_only=True):
    monitor: Monitor
    since: datetime
    until: datetime
    series: Series  # hourly up to 7 days, daily beyond
    facets: Facets
    stories: tuple[Story, ...]  # empty for a viewer when a story has fewer than MIN_AUTHORS
    open_alerts: int
    total: int | None  # posts in the range (None: withheld)


class PlaceCount(msgspec.Struct, frozen=True, kw_only=True):
    code: str  # CBS municipality code
    name: str
    posts: int | None  # None: withheld
    negative_share: float | None = None


class MapView(msgspec.Struct, frozen=True, kw_only=True):
    monitor_id: int | None
    since: datetime
    until: datetime
    # Only municipalities with posts that this actor may see. One under the privacy floor is
    # left out, not shown as withheld: that it has posts at all would rest on too few authors.
    places: tuple[PlaceCount, ...]
    suppressed: int = 0  # municipalities left out for this actor


class PostView(msgspec.Struct, frozen=True, kw_only=True):
    """A post as an analyst sees it: pseudonymised author, the original's link still sealed."""

    id: str
    source: str
    created_at: datetime
    text: str
    author: str | None  # the pseudonym
    lang: str | None
    sentiment: str | None
    incident_type: str | None
    places: tuple[str, ...]  # municipality names
    hashtags: tuple[str, ...]
    has_link: bool  # whether `open_link` can give the original's URL


class PostsPage(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    limit: int
    offset: int
    posts: tuple[PostView, ...]


class AlertView(msgspec.Struct, frozen=True, kw_only=True):
    """An alert with its evidence: the monitor's volume around it and representative posts."""

    alert: Alert
    monitor_name: str
    series: Series  # hourly, from a few hours before `started_at` to its last update
    posts: tuple[PostView, ...]
    events: tuple[tuple[str, datetime, str | None], ...]  # (kind, at, actor), oldest first


class RegisterEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One monitor in the governance register (processing activities)."""

    monitor: Monitor
    legal_basis_label: str
    posts: int  # posts it holds now
    oldest: datetime | None


class ModelEntry(msgspec.Struct, frozen=True, kw_only=True):
    """What a DPIA and the Dutch Algoritmeregister ask about a model in use, from its card."""

    name: str
    purpose: str
    kind: str  # e.g. "classifier (TF-IDF + logistic regression)"
    training_data: str
    metrics: dict[str, str]
    limitations: str
    human_oversight: str
    card_path: str
