"""The windowed planner (`store.search_plan`) pages exactly as one unbounded search does.

The archive is skewed on purpose: a word in most posts, a hashtag in one post in ten, a word in
one post in a hundred, posts in bursts separated by long gaps (many time ranges), and written in
shuffled order so that pk does not follow created_us (the windows' pk bounds must still hold).
Every page, reached by offset as the API's "next page" does, must equal the unbounded search's,
before and after a post is deleted, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from stadspuls.query.matcher import compile_query
from stadspuls.records import Deletion, Post
from stadspuls.store import search, search_plan
from stadspuls.store.database import open_store
from stadspuls.store.schema import posts
from stadspuls.store.search import search_posts
from stadspuls.store.writer import Batch, PostWriter
from tests.query.corpus import SEALER

T0 = datetime(2025, 3, 1, tzinfo=UTC)
N = 2400

QUERIES = (
    "gewoon",
    "#nu OR (zeldzaam AND gewoon)",
    "gewoon lang:nl",
    "gew* -zeldzaam",
    "#nu",
    "gewoon OR zeldzaam",
    "zeldzaam",
    "(gewoon OR #nu) has:link",
    "gewoon source:rss,p2000",
    "NOT gewoon",
    "nu",
)
PAGES = ((10, 0), (10, 10), (25, 40), (7, 300), (50, 1500))


def _posts() -> list[Post]:
    rng = random.Random(5)
    out = []
    moment = T0
    for n in range(N):
        # Bursts of about 40 posts a few seconds apart, then a gap of hours to weeks.
        gap = timedelta(hours=rng.choice([1, 6, 48, 24 * 20])) if n % 40 == 0 else timedelta(0)
        moment += gap + timedelta(seconds=rng.randrange(1, 9))
        words = ["melding"]
        if rng.random() < 0.7:
            words.append("gewoon")
        if rng.random() < 0.01:
            words.append("zeldzaam")
        hashtags: tuple[str, ...] = ()
        if rng.random() < 0.1:
            words.append("#nu")
            hashtags = ("nu",)
        elif rng.random() < 0.05:
            words.append("nu")  # the word without the hashtag
        out.append(
            Post(
                id=f"window:{n}",
                source=("bluesky", "rss", "p2000", "mastodon")[n % 4],
                native_id=str(n),
                created_at=moment,
                text=" ".join(words),
                lang=rng.choice(["nl", "nl", "en", None]),
                hashtags=hashtags,
                links=(SEALER.seal("https://example.org/x", f"window:{n}"),)
                if rng.random() < 0.3
                else (),
            )
        )
    rng.shuffle(out)  # pk order is not time order
    return out


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def skewed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('windows') / 'archive.db'}"
        engine = open_store(url)
        yield from _filled(engine)
        return
    from tests.support.databases import fresh_pg_database

    for url in fresh_pg_database():
        yield from _filled(open_store(url))


def _filled(engine: sa.Engine) -> Iterator[sa.Engine]:
    posts = _posts()
    with PostWriter(engine) as writer:
        for start in range(0, len(posts), 300):
            batch = Batch()
            for post in posts[start : start + 300]:
                batch.add(post)
            writer.write(batch)
    yield engine
    engine.dispose()


def _ids(posts: list[Post]) -> list[str]:
    return [p.id for p in posts]


@pytest.fixture
def windows_used(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many windows each windowed search read."""
    used: list[int] = []
    real = search_plan.TimeWindows.__iter__

    def counting(self: search_plan.TimeWindows) -> Iterator[search_plan.Window]:
        used.append(0)
        for window in real(self):
            used[-1] += 1
            yield window

    monkeypatch.setattr(search_plan.TimeWindows, "__iter__", counting)
    return used


@pytest.mark.parametrize("sizing", ["as_planned", "narrow"])
def test_pages_equal_the_unbounded_search(
    skewed: sa.Engine, windows_used: list[int], sizing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sizing == "narrow":
        # Every query, whatever the planner would choose: a first window of one microsecond
        # and slow growth, so that pages span many windows.
        def narrow(
            conn: sa.Connection, translation: Any, wanted: int, **_: Any
        ) -> search_plan.TimeWindows | None:
            newest, oldest = conn.execute(
                sa.select(sa.func.max(posts.c.created_us), sa.func.min(posts.c.created_us))
            ).one()
            return search_plan.TimeWindows(conn, wanted, newest, oldest, newest)

        monkeypatch.setattr(search, "plan_windows", narrow)
        monkeypatch.setattr(search_plan, "_GROW_MAX", 2.0)
    for query in QUERIES:
        for limit, offset in PAGES:
            expected = search_posts(skewed, query, limit=limit, offset=offset, windowed=False)
            got = search_posts(skewed, query, limit=limit, offset=offset)
            assert _ids(got) == _ids(expected), (query, limit, offset)
    if sizing == "narrow":
        assert min(windows_used) >= 3, windows_used
        assert max(windows_used) >= 10, windows_used
    else:  # the planner itself windows the common queries
        assert max(windows_used) >= 1, windows_used


def test_pages_follow_the_matcher(skewed: sa.Engine) -> None:
    """Ground truth without SQL: every post the matcher accepts, newest first."""
    everything = sorted(_posts(), key=lambda p: p.created_at, reverse=True)
    for query in QUERIES:
        compiled = compile_query(query)
        matching = [p.id for p in everything if compiled.matches(p)]
        for limit, offset in PAGES:
            page = search_posts(skewed, query, limit=limit, offset=offset)
            assert _ids(page) == matching[offset : offset + limit], (query, limit, offset)


def test_pages_within_since_and_until(skewed: sa.Engine) -> None:
    times = sorted(p.created_at for p in _posts())
    since, until = times[N // 5], times[N * 3 // 4]
    for query in QUERIES:
        for limit, offset in PAGES[:3]:
            options = {"limit": limit, "offset": offset, "since": since, "until": until}
            expected = search_posts(skewed, query, windowed=False, **options)  # type: ignore[arg-type]
            got = search_posts(skewed, query, **options)  # type: ignore[arg-type]
            assert _ids(got) == _ids(expected), (query, limit, offset)
            assert all(since <= p.created_at < until for p in got)


def test_a_deleted_post_leaves_the_pages(skewed: sa.Engine) -> None:
    before = search_posts(skewed, "gewoon", limit=20, offset=5)
    victim = before[3]
    batch = Batch()
    batch.add(Deletion(id=victim.id, at=T0 + timedelta(days=400)))
    with PostWriter(skewed) as writer:
        writer.write(batch)
    for query in ("gewoon", "gewoon lang:nl", "#nu OR (zeldzaam AND gewoon)"):
        for limit, offset in PAGES:
            expected = search_posts(skewed, query, limit=limit, offset=offset, windowed=False)
            got = search_posts(skewed, query, limit=limit, offset=offset)
            assert _ids(got) == _ids(expected), (query, limit, offset)
            assert victim.id not in _ids(got)
    after = search_posts(skewed, "gewoon", limit=20, offset=5)
    assert _ids(after) == [p.id for p in before if p.id != victim.id] + [after[-1].id]


def test_windows_partition_time_newest_first(skewed: sa.Engine) -> None:
    # Common, and inexact (a hashtag): windowed on both engines.
    translation = search._prepare(skewed, "#nu OR gewoon", None)[1]
    with skewed.connect() as conn:
        windows = search_plan.plan_windows(conn, translation, 10)
        assert isinstance(windows, search_plan.TimeWindows)
        seen = []
        for window in windows:
            seen.append(window)
            windows.found = 0  # never full: the windows must reach the first post
        assert seen[0].highest is None
        assert seen[-1].lowest is None
        for newer, older in itertools.pairwise(seen):
            assert older.highest == newer.lowest
        # Common and exact: windows on SQLite; PostgreSQL's LIMIT walk of the time index
        # already stops at a full page.
        exact = search._prepare(skewed, "gewoon", None)[1]
        planned = search_plan.plan_windows(conn, exact, 10)
        expected = search_plan.TimeWindows if conn.dialect.name == "sqlite" else type(None)
        assert isinstance(planned, expected)
        # Rare: one unbounded search.
        rare = search._prepare(skewed, "zeldzaam", None)[1]
        assert not isinstance(search_plan.plan_windows(conn, rare, 10), search_plan.TimeWindows)
