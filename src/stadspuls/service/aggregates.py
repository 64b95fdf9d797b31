"""Counts, series, facets and the map, from the pre-aggregated tables (`monitor_buckets`,
`monitor_facets`): never a count over posts. Viewers get only aggregates over at least
`MIN_AUTHORS` distinct authors (`service.floor`).

The seasonal expectation of a bucket is the median of the same bucket 1–4 weeks before (the
same hour of the week; the same weekday), its band the lowest and highest of those weeks; with
fewer than 2 such weeks since the monitor's first post there is none. Facets are counted per
whole UTC day: a range that starts mid-day counts that whole day's hashtags and places.
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import msgspec
import sqlalchemy as sa

from stadspuls.access.roles import MIN_AUTHORS, check
from stadspuls.detect.terms import content_terms
from stadspuls.enrich.places import load_table
from stadspuls.records import SEVERITIES, Actor, Monitor, Story, utcnow
from stadspuls.rollups import DAY_US, HOUR_US, values_of_row
from stadspuls.service.base import ServiceBase
from stadspuls.service.errors import NotFound
from stadspuls.service.floor import Floor, Span
from stadspuls.service.views import (
    Count,
    Facets,
    MapView,
    MonitorSummary,
    MonitorView,
    Overview,
    PlaceCount,
    Point,
    Series,
)
from stadspuls.store import aggregates as store
from stadspuls.store import rollups as rollup_store
from stadspuls.store.monitors import get_monitor, list_monitors
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.stories import list_stories

WEEK_US = 7 * DAY_US
HISTORY_WEEKS = 4
MIN_HISTORY_WEEKS = 2
HOURLY_UP_TO = timedelta(days=7)  # longer ranges are shown per day
TERMS_SAMPLE = 2000  # the newest posts of a range whose words are counted
TOP = 20  # values shown per facet
MAX_STORIES = 50
# The undecided facet values of a viewer's range are counted exactly from at most this many
# posts; beyond it they are withheld (the floor errs on the side of the people counted).
EXACT_SCAN_LIMIT = 5_000


@functools.cache
def municipality_names() -> dict[str, str]:
    """CBS municipality code -> the municipality's official name."""
    return {entry.place.code: entry.place.municipality for entry in load_table()}


def _floor(value: int, width: int) -> int:
    return value - value % width


def _spans(rows: Iterable[store.BucketRow], width: int) -> dict[int, Span]:
    spans: dict[int, Span] = {}
    for row in rows:
        start = _floor(row.start_us, width)
        span = spans.get(start)
        if span is None:
            span = spans[start] = Span()
        span.add(row.posts, row.authors, row.negative, row.neutral, row.positive, row.last_us)
    return spans


def _visible_history(floor: Floor, span: Span | None) -> bool:
    """A past bucket may inform a viewer's band only when it could be shown itself (decided by
    its bounds alone: bands are many, exact counts are for what is shown)."""
    return span is None or floor.open or span.posts == 0 or span.lower >= MIN_AUTHORS


def series_from(
    rows: Sequence[store.BucketRow],
    *,
    start_us: int,
    until_us: int,
    width: int,
    first_us: int | None,
    floor: Floor,
    exact: Callable[[int, int], int] | None,
) -> Series:
    """The series of one monitor's hourly cells `rows` (which reach back HISTORY_WEEKS before
    `start_us`) in buckets of `width` µs; `exact(since, until)` counts distinct authors."""
    spans = _spans(rows, width)
    begin = _floor(start_us, width)
    history = None if first_us is None else _floor(first_us, width)
    points: list[Point] = []
    suppressed_before = floor.suppressed
    for start in range(begin, until_us, width):
        span = spans.get(start) or Span()
        counter = None if exact is None else functools.partial(exact, start, start + width)
        shown = floor.shows(span, counter)
        past = [start - week * WEEK_US for week in range(1, HISTORY_WEEKS + 1)]
        past = [p for p in past if history is not None and p >= history]
        expected = low = high = None
        if len(past) >= MIN_HISTORY_WEEKS and (
            floor.open or all(_visible_history(floor, spans.get(p)) for p in past)
        ):
            values = [spans[p].posts if p in spans else 0 for p in past]
            expected, low, high = float(statistics.median(values)), min(values), max(values)
        points.append(
            Point(
                start=from_us(start),
                posts=span.posts if shown else None,
                negative=span.negative if shown else None,
                neutral=span.neutral if shown else None,
                positive=span.positive if shown else None,
                expected=expected,
                low=None if low is None else float(low),
                high=None if high is None else float(high),
            )
        )
    return Series(
        bucket_seconds=width // 1_000_000,
        points=tuple(points),
        suppressed=floor.suppressed - suppressed_before,
    )


def attention(
    severities: dict[str, int], posts: int | None, expected: float | None,
    high: float | None, negative_share: float | None,
) -> float:  # fmt: skip
    """Higher needs attention sooner. Open alerts by their worst severity and number first
    (millions), then volume above its band as a z-like ratio (tens, at most 990), then the
    negative share (below 1)."""
    score = 0.0
    if severities:
        worst = max(SEVERITIES.index(s) for s in severities)
        score += (worst + 1) * 1_000_000 + min(sum(severities.values()), 999) * 1_000
    if posts is not None and expected is not None and high is not None and posts > high:
        spread = max(high - expected, expected**0.5, 1.0)
        score += 10 * min((posts - expected) / spread, 99.0)
    return score + (negative_share or 0.0) * 0.999


class AggregateReads(ServiceBase):
    """Overview, monitor view, series and map (permission "aggregates")."""

    def _monitor(self, monitor_id: int) -> Monitor:
        found = get_monitor(self.engine, monitor_id)
        if found is None:
            raise NotFound(f"no monitor with id {monitor_id}")
        return found

    @staticmethod
    def _exact(conn: sa.Connection, monitor_ids: Sequence[int]) -> Callable[[int, int], int]:
        return functools.partial(store.distinct_authors, conn, monitor_ids)

    def series(
        self, actor: Actor, monitor_id: int, *, since: datetime, until: datetime,
        bucket_seconds: int,
    ) -> Series:  # fmt: skip
        """A monitor's posts per hour (3600) or day (86400) in [since, until), with the
        seasonal expectation and its band."""
        check(actor, "aggregates")
        if bucket_seconds not in (3600, 86400):
            raise ValueError("bucket_seconds must be 3600 (hours) or 86400 (days)")
        self._monitor(monitor_id)
        since_us, until_us = to_us(since), to_us(until)
        width = bucket_seconds * 1_000_000
        with self.engine.connect() as conn:
            begin = _floor(since_us, width) - HISTORY_WEEKS * WEEK_US
            return series_from(
                store.buckets(conn, [monitor_id], begin, until_us),
                start_us=since_us,
                until_us=until_us,
                width=width,
                first_us=store.first_buckets(conn, [monitor_id]).get(monitor_id),
                floor=Floor(actor),
                exact=self._exact(conn, [monitor_id]),
            )

    def overview(self, actor: Actor, *, now: datetime | None = None) -> Overview:
        """Every active monitor's last 24 hours, the one needing attention first."""
        check(actor, "aggregates")
        now = now or utcnow()
        end = _floor(to_us(now), HOUR_US) + HOUR_US
        start = end - 24 * HOUR_US
        active = list_monitors(self.engine, active_only=True)
        ids = [m.id for m in active if m.id is not None]
        summaries: list[MonitorSummary] = []
        with self.engine.connect() as conn:
            rows: dict[int, list[store.BucketRow]] = defaultdict(list)
            hours = range(start, end, HOUR_US)
            wanted = [h - week * WEEK_US for h in hours for week in range(HISTORY_WEEKS + 1)]
            for row in store.buckets_at(conn, ids, wanted):
                rows[row.monitor_id].append(row)
            firsts = store.first_buckets(conn, ids)
            newest = store.newest_buckets(conn, ids)
            alerts = store.open_alerts(conn, ids)
            for monitor in active:
                assert monitor.id is not None
                summaries.append(
                    self._summary(conn, actor, monitor, rows[monitor.id], firsts, newest,
                                  alerts.get(monitor.id, {}), start, end)
                )  # fmt: skip
        summaries.sort(key=lambda s: (-s.attention, s.monitor.name))
        return Overview(
            generated_at=now,
            monitors=tuple(summaries),
            open_alerts=sum(s.open_alerts for s in summaries),
        )

    def _summary(
        self, conn: sa.Connection, actor: Actor, monitor: Monitor, rows: list[store.BucketRow],
        firsts: dict[int, int], newest: dict[int, store.BucketRow], severities: dict[str, int],
        start: int, end: int,
    ) -> MonitorSummary:  # fmt: skip
        assert monitor.id is not None
        floor = Floor(actor)
        spark = series_from(
            rows, start_us=start, until_us=end, width=HOUR_US, first_us=firsts.get(monitor.id),
            floor=floor, exact=None,
        )  # fmt: skip
        day = Span()
        for row in rows:
            if row.start_us >= start:
                day.add(row.posts, row.authors, row.negative, row.neutral, row.positive)
        shown = floor.shows(day, functools.partial(self._exact(conn, [monitor.id]), start, end))
        posts = day.posts if shown else None
        expected = high = None
        if all(p.expected is not None for p in spark.points):
            expected = sum(p.expected or 0.0 for p in spark.points)
            high = sum(p.high or 0.0 for p in spark.points)
        share = day.sentiment_share if shown else None
        last = newest.get(monitor.id)
        last_at = None
        if last is not None and (floor.open or last.authors >= MIN_AUTHORS):
            last_at = from_us(last.last_us)
        worst = max(severities, key=SEVERITIES.index) if severities else None
        return MonitorSummary(
            monitor=_as_shown(floor, monitor),
            spark=spark,
            posts_24h=posts,
            expected_24h=expected,
            negative_share=share,
            open_alerts=sum(severities.values()),
            worst_severity=worst,
            last_post_at=last_at,
            attention=attention(severities, posts, expected, high, share),
        )

    def monitor_view(
        self, actor: Actor, monitor_id: int, *, since: datetime, until: datetime
    ) -> MonitorView:
        """What the monitor page shows for [since, until): hourly up to 7 days, daily beyond."""
        check(actor, "aggregates")
        if until <= since:
            raise ValueError("the range must end after it starts")
        monitor = self._monitor(monitor_id)
        width = HOUR_US if until - since <= HOURLY_UP_TO else DAY_US
        since_us, until_us = to_us(since), to_us(until)
        floor = Floor(actor)
        with self.engine.connect() as conn:
            exact = self._exact(conn, [monitor_id])
            begin = _floor(since_us, width) - HISTORY_WEEKS * WEEK_US
            rows = store.buckets(conn, [monitor_id], begin, until_us)
            series = series_from(
                rows, start_us=since_us, until_us=until_us, width=width,
                first_us=store.first_buckets(conn, [monitor_id]).get(monitor_id),
                floor=floor, exact=exact,
            )  # fmt: skip
            total_span = Span()
            first_hour = _floor(since_us, HOUR_US)
            for row in rows:
                if row.start_us >= first_hour:
                    total_span.add(row.posts, row.authors)
            shown = floor.shows(total_span, functools.partial(exact, first_hour, until_us))
            before = floor.suppressed
            facets = self._facets(conn, floor, [monitor_id], since_us, until_us)
            terms, sample = self._terms(conn, floor, monitor_id, since_us, until_us)
            facets = msgspec.structs.replace(
                facets, terms=terms, terms_sample=sample, suppressed=floor.suppressed - before
            )
            severities = store.open_alerts(conn, [monitor_id]).get(monitor_id, {})
        stories = [
            s for s in list_stories(self.engine, monitor_id, since=since, limit=MAX_STORIES)
            if s.first_at < until and floor.shows_authors(s.authors)
        ]  # fmt: skip
        if not floor.open:
            stories = [_without_posts(s) for s in stories]
        return MonitorView(
            monitor=_as_shown(floor, monitor),
            since=since,
            until=until,
            series=series,
            facets=facets,
            stories=tuple(stories),
            open_alerts=sum(severities.values()),
            total=total_span.posts if shown else None,
        )

    def _facets(
        self, conn: sa.Connection, floor: Floor, monitor_ids: Sequence[int] | None,
        since_us: int, until_us: int, kinds: Sequence[str] | None = None,
    ) -> Facets:  # fmt: skip
        """The top values of each kind over the days the range touches."""
        rows = store.facets(conn, monitor_ids, _floor(since_us, DAY_US), until_us, kinds)
        spans: dict[tuple[str, str], Span] = {}
        posts_in_range = 0
        for row in rows:
            span = spans.get((row.kind, row.value))
            if span is None:
                span = spans[row.kind, row.value] = Span()
            span.add(row.posts, row.authors, row.negative)
            if row.kind == "source":  # every post has exactly one source
                posts_in_range += row.posts
        exact: dict[tuple[str, str], int] = {}
        undecided = {key for key, span in spans.items() if floor.undecided(span)}
        if undecided and posts_in_range <= EXACT_SCAN_LIMIT:
            exact = _exact_facets(conn, monitor_ids, _floor(since_us, DAY_US), until_us,
                                  undecided)  # fmt: skip
        names = municipality_names()
        found: dict[str, list[Count]] = defaultdict(list)
        for (kind, value), span in sorted(spans.items(), key=lambda kv: (-kv[1].posts, kv[0])):
            authors = exact.get((kind, value), span.exact)
            if not floor.shows(span, _known(authors)):
                continue
            if len(found[kind]) < TOP:
                label = names.get(value, value) if kind == "place" else value
                found[kind].append(Count(value=value, label=label, posts=span.posts,
                                         authors=authors))  # fmt: skip
        return Facets(
            types=tuple(found["type"]), tags=tuple(found["tag"]), places=tuple(found["place"]),
            langs=tuple(found["lang"]), sources=tuple(found["source"]),
        )  # fmt: skip

    def _terms(
        self, conn: sa.Connection, floor: Floor, monitor_id: int, since_us: int, until_us: int
    ) -> tuple[tuple[Count, ...], int]:
        """The top content words of the newest TERMS_SAMPLE posts of the range, by the number
        of distinct authors who used them; and how many posts were read."""
        texts = store.newest_texts(conn, monitor_id, since_us, until_us, TERMS_SAMPLE)
        posts: Counter[str] = Counter()
        authors: dict[str, set[str]] = defaultdict(set)
        for author, text in texts:
            for term in content_terms(text):
                posts[term] += 1
                if author is not None:
                    authors[term].add(author)
        ranked = sorted(posts, key=lambda t: (-len(authors[t]), -posts[t], t))
        shown: list[Count] = []
        for term in ranked:
            if len(shown) == TOP:
                break
            if floor.open or len(authors[term]) >= MIN_AUTHORS:
                shown.append(Count(value=term, label=term, posts=posts[term],
                                   authors=len(authors[term])))  # fmt: skip
            else:
                floor.suppressed += 1
        return tuple(shown), len(texts)

    def map_view(
        self, actor: Actor, *, monitor_id: int | None, since: datetime, until: datetime
    ) -> MapView:
        """Posts and negative share per municipality (of one monitor, or of every monitor:
        then a post matched by two monitors counts twice)."""
        check(actor, "aggregates")
        if until <= since:
            raise ValueError("the range must end after it starts")
        if monitor_id is not None:
            self._monitor(monitor_id)
        ids = None if monitor_id is None else [monitor_id]
        floor = Floor(actor)
        since_us, until_us = to_us(since), to_us(until)
        with self.engine.connect() as conn:
            rows = store.facets(conn, ids, _floor(since_us, DAY_US), until_us, ["place", "source"])
            spans: dict[str, Span] = defaultdict(Span)
            posts_in_range = 0
            for row in rows:
                if row.kind == "source":
                    posts_in_range += row.posts
                else:
                    spans[row.value].add(row.posts, row.authors, row.negative)
            undecided = {("place", code) for code, span in spans.items() if floor.undecided(span)}
            exact: dict[tuple[str, str], int] = {}
            if undecided and posts_in_range <= EXACT_SCAN_LIMIT:
                exact = _exact_facets(conn, ids, _floor(since_us, DAY_US), until_us, undecided)
        names = municipality_names()
        places: list[PlaceCount] = []
        for code, span in sorted(spans.items(), key=lambda kv: (-kv[1].posts, kv[0])):
            authors = exact.get(("place", code))
            if not floor.shows(span, _known(authors)):
                continue
            share = span.negative / span.posts if span.posts else None
            places.append(PlaceCount(code=code, name=names.get(code, code), posts=span.posts,
                                     negative_share=share))  # fmt: skip
        return MapView(monitor_id=monitor_id, since=since, until=until, places=tuple(places),
                       suppressed=floor.suppressed)  # fmt: skip


def _exact_facets(
    conn: sa.Connection, monitor_ids: Sequence[int] | None, since_us: int, until_us: int,
    wanted: set[tuple[str, str]],
) -> dict[tuple[str, str], int]:  # fmt: skip
    """Distinct authors of the wanted (kind, value) pairs, counted from the posts."""
    authors: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rollup_store.linked(
        conn, monitor_ids=monitor_ids, since_us=since_us, until_us=until_us
    ):
        if row.author_key is None:
            continue
        for value in values_of_row(row) & wanted:
            authors[value].add(row.author_key)
    return {value: len(authors[value]) for value in wanted}


def _known(authors: int | None) -> Callable[[], int] | None:
    """An exact count already at hand, as the floor asks for one."""
    return None if authors is None else functools.partial(int, authors)


def _as_shown(floor: Floor, monitor: Monitor) -> Monitor:
    """A viewer sees what a monitor is for, not its query: a query may name a person."""
    return monitor if floor.open else msgspec.structs.replace(monitor, query="")


def _without_posts(story: Story) -> Story:
    """A story as a viewer sees it: counts and words, not which posts it holds."""
    return msgspec.structs.replace(story, post_ids=())
