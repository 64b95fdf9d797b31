"""search_posts / count_posts: the keyword filters, paging and errors (the agreement with the
streaming matcher is in test_query_agreement.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from stadspuls.query.matcher import compile_query
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import Post
from stadspuls.store import search
from stadspuls.store.database import open_store
from stadspuls.store.search import count_posts, search_posts
from tests.query.corpus import SYNTHETIC, T0, enrich, pseudonymise, store


@pytest.fixture
def archive(db_url: str) -> Iterator[tuple[sa.Engine, list[Post]]]:
    engine = open_store(db_url)
    posts = enrich(SYNTHETIC)
    store(engine, posts)
    yield engine, sorted(posts, key=lambda p: p.created_at, reverse=True)
    engine.dispose()


def ids(posts: list[Post]) -> list[str]:
    return [p.id for p in posts]


def test_empty_query_lists_everything_newest_first(archive: tuple[sa.Engine, list[Post]]) -> None:
    engine, posts = archive
    assert ids(search_posts(engine, "", limit=1000)) == ids(posts)
    assert count_posts(engine, "") == len(posts)
    assert ids(search_posts(engine, "", limit=3, offset=2)) == ids(posts[2:5])
    assert search_posts(engine, "", limit=0) == []


def test_keyword_filters_narrow_the_query(archive: tuple[sa.Engine, list[Post]]) -> None:
    engine, posts = archive
    since, until = T0 - timedelta(minutes=10), T0 - timedelta(minutes=3)
    expected = [
        p
        for p in posts
        if since <= p.created_at < until and p.source in ("rss", "bluesky") and p.lang == "nl"
    ]
    found = search_posts(
        engine, "", since=since, until=until, sources=["rss", "bluesky"], lang="nl", limit=100
    )
    assert ids(found) == ids(expected)
    prefix = compile_query("brand*")
    expected = [p for p in posts if p.lang == "nl" and prefix.matches(p)]
    assert len(expected) > 3
    assert count_posts(engine, "brand*", lang="nl") == len(expected)
    assert ids(search_posts(engine, "brand*", lang="nl")) == ids(expected)


def test_returned_posts_are_whole(archive: tuple[sa.Engine, list[Post]]) -> None:
    engine, posts = archive
    by_id = {p.id: p for p in posts}
    for post in search_posts(engine, "#bommenberend OR place:Groningen", pseudonymise=pseudonymise):
        original = by_id[post.id]
        assert post.text == original.text
        assert post.places == original.places
        assert post.hashtags == original.hashtags
        assert post.created_at == original.created_at


def test_syntax_errors_reach_the_caller(archive: tuple[sa.Engine, list[Post]]) -> None:
    engine, _ = archive
    with pytest.raises(QuerySyntaxError, match="at column 7"):
        search_posts(engine, "brand (loods")


PLAN_QUERIES = ("brand*", "#brand OR loods", "NOT brand", "", "place:Groningen lang:nl", "de")


@pytest.mark.parametrize("plan", ["by_time", "by_rowid"])
def test_both_plans_give_the_same_posts(
    archive: tuple[sa.Engine, list[Post]], plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = archive
    expected = {q: ids(search_posts(engine, q, limit=7, offset=2)) for q in PLAN_QUERIES}
    monkeypatch.setattr(search, "_plan", lambda *_args: plan)
    for query, wanted in expected.items():
        assert ids(search_posts(engine, query, limit=7, offset=2)) == wanted, query
