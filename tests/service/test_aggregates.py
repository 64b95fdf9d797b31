"""The aggregate half of the read service: series with a seasonal band, the overview's order,
facets, the map, and the viewer's privacy floor, over cells built by the rollup's rebuild from
stored posts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from stadspuls import rollups
from stadspuls.records import Actor, Monitor, Place, Post, Signal, Story
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.service.reads import ReadService
from stadspuls.settings import Settings
from stadspuls.store import alerts as alert_store
from stadspuls.store import monitors as monitor_store
from stadspuls.store.database import open_store
from stadspuls.store.stories import save_stories
from stadspuls.store.writer import Batch, PostWriter

ANALYST = Actor(user_id=1, username="ana", role="analyst")
VIEWER = Actor(user_id=2, username="vera", role="viewer")
# A Monday, 10:00 UTC: the hour the series tests look at.
NOW = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
LOCHEM = Place(code="GM0262", name="Lochem", municipality="Lochem", lat=52.16, lon=6.41)
DEVENTER = Place(code="GM0150", name="Deventer", municipality="Deventer", lat=52.25, lon=6.16)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'stadspuls.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def reads(engine: sa.Engine, settings: Settings) -> ReadService:
    return ReadService(engine, settings, pseudonymise=lambda handle: f"pseudonym:{handle}")


class Posts:
    """Stored posts linked to monitors, as the door, writer and linker leave them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.n = 0
        self.pending: list[tuple[int, Post]] = []

    def monitor(self, name: str) -> int:
        saved = monitor_store.insert_monitor(
            self.engine,
            Monitor(name=name, query=name, owner="team", purpose="tests",
                    legal_basis="public-task", retention_days=30),
        )  # fmt: skip
        assert saved.id is not None
        return saved.id

    def add(
        self, monitor_id: int, at: datetime, author: str, *, text: str = "brand in de loods",
        sentiment: str | None = "neutral", places: Sequence[Place] = (),
        hashtags: Sequence[str] = (), incident_type: str | None = None, lang: str = "nl",
    ) -> None:  # fmt: skip
        self.n += 1
        post = Post(
            id=f"test:{self.n}", source="test", native_id=str(self.n), created_at=at, text=text,
            author_key=author, sentiment=sentiment, places=tuple(places),
            hashtags=tuple(hashtags), incident_type=incident_type, lang=lang,
        )  # fmt: skip
        self.pending.append((monitor_id, post))

    def many(
        self, monitor_id: int, at: datetime, authors: int, first: int = 0, **kw: object
    ) -> None:
        for i in range(authors):
            self.add(monitor_id, at + timedelta(seconds=i), f"a{first + i}", **kw)  # type: ignore[arg-type]

    def store(self) -> None:
        writer = PostWriter(self.engine)
        writer.write(Batch(posts=[post for _, post in self.pending]))
        writer.close()
        with self.engine.begin() as conn:
            found = monitor_store.pks_for_ids(conn, [post.id for _, post in self.pending])
            monitor_store.insert_links(conn, [(m, *found[post.id]) for m, post in self.pending])
        self.pending = []
        rollups.rebuild(self.engine)


def test_the_series_has_a_seasonal_band_once_two_weeks_of_history_exist(
    engine: sa.Engine, reads: ReadService
) -> None:
    posts = Posts(engine)
    m = posts.monitor("brand")
    hour = NOW.replace(minute=0)
    for week, count in [(4, 2), (3, 8), (2, 4), (1, 6)]:
        posts.many(m, hour - week * WEEK, count)
    posts.many(m, hour, 30)
    posts.store()
    series = reads.series(ANALYST, m, since=hour - HOUR, until=hour + HOUR, bucket_seconds=3600)
    before, now = series.points
    assert (now.posts, now.expected, now.low, now.high) == (30, 5.0, 2.0, 8.0)
    assert (before.posts, before.expected, before.low, before.high) == (0, 0.0, 0.0, 0.0)
    # Three weeks back there were only 1 week of history before it: no band.
    early = reads.series(ANALYST, m, since=hour - 3 * WEEK, until=hour - 3 * WEEK + HOUR,
                         bucket_seconds=3600)  # fmt: skip
    assert early.points[0].posts == 8
    assert early.points[0].expected is None
    days = reads.series(ANALYST, m, since=hour - 7 * 24 * HOUR, until=hour + HOUR,
                        bucket_seconds=86400)  # fmt: skip
    assert days.bucket_seconds == 86400
    assert sum(p.posts or 0 for p in days.points) == 36
    assert days.points[-1].expected == 5.0


def test_the_overview_puts_alerts_first_then_volume_above_its_band_then_negativity(
    engine: sa.Engine, reads: ReadService
) -> None:
    posts = Posts(engine)
    quiet, loud, sour, alarmed = (posts.monitor(n) for n in ("quiet", "loud", "sour", "alarm"))
    hour = NOW.replace(minute=0)
    for week in range(1, 5):
        for m in (quiet, loud, sour, alarmed):
            posts.many(m, hour - week * WEEK, 6)
    posts.many(quiet, hour, 6)
    posts.many(loud, hour, 60)
    posts.many(sour, hour, 6, sentiment="negative")
    posts.many(alarmed, hour, 6)
    posts.store()
    with engine.begin() as conn:
        alert_store.record_signals(conn, [Signal(
            monitor_id=alarmed, detector="burst", at=NOW, started_at=NOW - HOUR, observed=6,
            expected=1, severity="high")])  # fmt: skip
    overview = reads.overview(ANALYST, now=NOW)
    assert [s.monitor.name for s in overview.monitors] == ["alarm", "loud", "sour", "quiet"]
    alarm, loud_row, sour_row, quiet_row = overview.monitors
    assert (alarm.open_alerts, alarm.worst_severity, overview.open_alerts) == (1, "high", 1)
    assert (loud_row.posts_24h, loud_row.expected_24h) == (60, 6.0)
    assert sour_row.negative_share == 1.0
    assert quiet_row.negative_share == 0.0
    assert len(quiet_row.spark.points) == 24
    assert quiet_row.spark.points[-1].start == hour
    assert quiet_row.last_post_at == hour + timedelta(seconds=5)


def test_the_monitor_view_has_facets_terms_stories_and_a_total(
    engine: sa.Engine, reads: ReadService
) -> None:
    posts = Posts(engine)
    m = posts.monitor("brand")
    at = NOW - 2 * HOUR
    posts.many(m, at, 6, places=[LOCHEM], hashtags=["Brand", "lochem"], incident_type="fire",
               text="Uitslaande brand in Lochem")  # fmt: skip
    posts.many(m, at, 2, first=10, places=[DEVENTER], hashtags=["brand"], lang="en",
               text="Fire in Deventer")  # fmt: skip
    posts.store()
    view = reads.monitor_view(ANALYST, m, since=NOW - 24 * HOUR, until=NOW)
    assert view.total == 8
    assert view.series.bucket_seconds == 3600
    facets = view.facets
    assert [(c.value, c.posts) for c in facets.tags] == [("brand", 8), ("lochem", 6)]
    assert [(c.label, c.posts) for c in facets.places] == [("Lochem", 6), ("Deventer", 2)]
    assert [(c.value, c.posts) for c in facets.langs] == [("nl", 6), ("en", 2)]
    assert [(c.value, c.posts) for c in facets.types] == [("fire", 6)]
    assert [(c.value, c.posts) for c in facets.sources] == [("test", 8)]
    # By distinct authors, then posts, then the word.
    assert [(c.value, c.authors) for c in facets.terms[:4]] == [
        ("brand", 6),
        ("lochem", 6),
        ("uitslaande", 6),
        ("deventer", 2),
    ]
    assert facets.terms_sample == 8
    week = reads.monitor_view(ANALYST, m, since=NOW - 30 * 24 * HOUR, until=NOW)
    assert week.series.bucket_seconds == 86400
    assert week.total == 8


def test_the_map_counts_posts_and_negative_share_per_municipality(
    engine: sa.Engine, reads: ReadService
) -> None:
    posts = Posts(engine)
    m, other = posts.monitor("brand"), posts.monitor("water")
    posts.many(m, NOW - HOUR, 6, places=[LOCHEM], sentiment="negative")
    posts.many(m, NOW - HOUR, 4, first=6, places=[LOCHEM])
    posts.many(other, NOW - HOUR, 5, places=[DEVENTER])
    posts.store()
    view = reads.map_view(ANALYST, monitor_id=m, since=NOW - 24 * HOUR, until=NOW)
    assert [(p.code, p.name, p.posts, p.negative_share) for p in view.places] == [
        ("GM0262", "Lochem", 10, 0.6)
    ]
    both = reads.map_view(VIEWER, monitor_id=None, since=NOW - 24 * HOUR, until=NOW)
    assert [(p.code, p.posts) for p in both.places] == [("GM0262", 10), ("GM0150", 5)]
    with pytest.raises(NotFound):
        reads.map_view(ANALYST, monitor_id=999, since=NOW - HOUR, until=NOW)


def test_a_cell_of_four_authors_is_withheld_from_a_viewer_and_shown_to_an_analyst(
    engine: sa.Engine, reads: ReadService
) -> None:
    posts = Posts(engine)
    m = posts.monitor("brand")
    hour = NOW.replace(minute=0) - 3 * HOUR
    posts.many(m, hour, 4, places=[LOCHEM], hashtags=["brand"], text="Brand in Lochem")
    posts.many(m, hour + HOUR, 7, first=20, text="Storm in Deventer")
    posts.store()
    since, until = hour, hour + 2 * HOUR
    analyst = reads.series(ANALYST, m, since=since, until=until, bucket_seconds=3600)
    viewer = reads.series(VIEWER, m, since=since, until=until, bucket_seconds=3600)
    assert [p.posts for p in analyst.points] == [4, 7]
    assert [p.posts for p in viewer.points] == [None, 7]
    assert [p.negative for p in viewer.points] == [None, 0]
    assert (analyst.suppressed, viewer.suppressed) == (0, 1)
    seen = reads.monitor_view(VIEWER, m, since=since, until=until)
    assert seen.facets.tags == ()
    assert seen.facets.places == ()
    assert "lochem" not in [t.value for t in seen.facets.terms]
    assert "storm" in [t.value for t in seen.facets.terms]
    assert seen.facets.suppressed > 0
    full = reads.monitor_view(ANALYST, m, since=since, until=until)
    assert [c.posts for c in full.facets.tags] == [4]
    assert "lochem" in [t.value for t in full.facets.terms]
    with pytest.raises(Forbidden):
        reads.series(Actor(user_id=3, username="x", role="none"), m, since=since, until=until,
                     bucket_seconds=3600)  # fmt: skip


@pytest.mark.parametrize(("second_first", "shown"), [(0, False), (3, True)])
def test_a_union_between_its_bounds_is_counted_exactly(
    engine: sa.Engine, reads: ReadService, second_first: int, shown: bool
) -> None:
    """Two hours of 3 authors each: 3 to 6 distinct authors over the day. The same 3 (withheld)
    or 6 different ones (shown), decided by an exact count over the posts."""
    posts = Posts(engine)
    m = posts.monitor("brand")
    day = NOW.replace(hour=0, minute=0) - 24 * HOUR
    posts.many(m, day + HOUR, 3, hashtags=["brand"])
    posts.many(m, day + 5 * HOUR, 3, first=second_first, hashtags=["brand"])
    posts.store()
    series = reads.series(VIEWER, m, since=day, until=day + 24 * HOUR, bucket_seconds=86400)
    assert series.points[0].posts == (6 if shown else None)
    view = reads.monitor_view(VIEWER, m, since=day, until=day + 24 * HOUR)
    assert view.total == (6 if shown else None)
    assert [c.posts for c in view.facets.tags] == ([6] if shown else [])
    hourly = reads.series(ANALYST, m, since=day, until=day + 24 * HOUR, bucket_seconds=86400)
    assert hourly.points[0].posts == 6


def test_unknown_monitors_and_bad_ranges_are_refused(reads: ReadService) -> None:
    assert reads.overview(ANALYST).monitors == ()
    with pytest.raises(NotFound):
        reads.monitor_view(ANALYST, 42, since=NOW - HOUR, until=NOW)
    with pytest.raises(ValueError, match="3600"):
        reads.series(ANALYST, 1, since=NOW - HOUR, until=NOW, bucket_seconds=60)
    with pytest.raises(ValueError, match="end after"):
        reads.monitor_view(ANALYST, 1, since=NOW, until=NOW - HOUR)


def test_stories_of_fewer_than_five_authors_are_withheld_from_a_viewer(
    engine: sa.Engine, reads: ReadService
) -> None:
    posts = Posts(engine)
    m = posts.monitor("brand")
    posts.many(m, NOW - 2 * HOUR, 8)
    posts.store()
    stories = [
        Story(monitor_id=m, key=key, first_at=NOW - 2 * HOUR, last_at=NOW - HOUR, posts=8,
              authors=authors, top_terms=("brand",), post_ids=("test:1", "test:2"))
        for key, authors in (("small", 3), ("wide", 7))
    ]  # fmt: skip
    with engine.begin() as conn:
        save_stories(conn, stories)
    seen = reads.monitor_view(VIEWER, m, since=NOW - 24 * HOUR, until=NOW)
    assert [(s.key, s.post_ids) for s in seen.stories] == [("wide", ())]
    full = reads.monitor_view(ANALYST, m, since=NOW - 24 * HOUR, until=NOW)
    assert sorted(s.key for s in full.stories) == ["small", "wide"]
    assert all(s.post_ids == ("test:1", "test:2") for s in full.stories)
