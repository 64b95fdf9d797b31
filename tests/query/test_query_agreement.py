"""The archive search and the streaming matcher return exactly the same posts.

Random queries, drawn from the vocabulary of a fixed corpus, are run both ways: through
`MonitorMatcher` over every post and through `search_posts`/`count_posts` over the stored posts
(SQLite always; PostgreSQL when STADSPULS_TEST_PG_URL is set). The synthetic corpus runs on a
fresh clone; the real one needs ../shared/data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stadspuls.query.matcher import MonitorMatcher, compile_query
from stadspuls.query.translate import Dialect, translate
from stadspuls.records import Post
from stadspuls.store.database import open_store
from stadspuls.store.search import count_posts, iter_posts, search_posts
from tests.query.corpus import (
    SHARED_DATA,
    SYNTHETIC,
    Vocabulary,
    enrich,
    pseudonymise,
    shared_texts,
    store,
    vocabulary,
)
from tests.support.databases import fresh_pg_database

PG_URL_ENV = "STADSPULS_TEST_PG_URL"
FILTERS = (
    "lang:nl", "lang:en", "source:bluesky", "source:rss,p2000", "has:media", "has:link",
    "place:Groningen", 'place:"Den Haag"', "place:rotterdam", "place:'s-Gravenhage",
)  # fmt: skip


@dataclass
class Archive:
    engine: sa.Engine
    posts: list[Post]  # newest first, as search orders them
    vocabulary: Vocabulary


def _archive(url: str, texts: list[str]) -> Archive:
    engine = open_store(url)
    posts = enrich(texts)
    store(engine, posts)
    newest_first = sorted(posts, key=lambda p: p.created_at, reverse=True)
    return Archive(engine, newest_first, vocabulary(texts))


def _real_texts() -> list[str]:
    if not SHARED_DATA.exists():
        pytest.skip(f"needs {SHARED_DATA} (../shared/data is not beside this checkout)")
    return shared_texts(1000)


ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=ENGINES)
def synthetic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    yield from _open(request.param, list(SYNTHETIC) * 3, tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module", params=ENGINES)
def real(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    texts = _real_texts()
    yield from _open(request.param, texts, tmp_path_factory.mktemp("real"))


def _open(kind: str, texts: list[str], tmp: Path) -> Iterator[Archive]:
    if kind == "sqlite":
        archive = _archive(f"sqlite:///{tmp / 'archive.db'}", texts)
        yield archive
        archive.engine.dispose()
        return
    for url in fresh_pg_database():
        archive = _archive(url, texts)
        yield archive
        archive.engine.dispose()


def pick(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    # Not sampled_from: its repr spells out the whole corpus vocabulary.
    return st.integers(0, len(values) - 1).map(values.__getitem__)


def queries(vocab: Vocabulary) -> st.SearchStrategy[str]:
    word = pick(vocab.words)
    prefix = word.map(lambda w: w[: max(2, len(w) // 2)].rstrip("-_.'") + "*")
    phrase = pick(vocab.bigrams).map(lambda b: f'"{b}"')
    hashtag = pick(vocab.hashtags).map(lambda h: "#" + h)
    mention = pick(vocab.handles).map(lambda h: "@" + h)
    operand = st.one_of(word, word, prefix, phrase, hashtag)
    group = st.lists(operand, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")")
    near = st.builds(
        lambda a, n, b: f"{a} NEAR/{n} {b}", operand, st.integers(0, 4), st.one_of(operand, group)
    )
    leaf = st.one_of(word, word, word, prefix, phrase, hashtag, mention, near,
                     st.sampled_from(FILTERS))  # fmt: skip
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
            st.builds(lambda a, b: f"{a} AND {b}", inner, inner),
            st.builds(lambda a, b: f"{a} {b}", inner, inner),
            inner.map(lambda a: f"NOT {a}"),
            inner.map(lambda a: f"-({a})"),
        ),
        max_leaves=6,
    )


def assert_agree(archive: Archive, query: str) -> None:
    compiled = compile_query(query, pseudonymise=pseudonymise)
    matcher = MonitorMatcher({"m": compiled})
    expected = [p.id for p in archive.posts if matcher.match(p) == ["m"]]
    # The single-query path must agree with the multi-monitor pre-filtered one.
    assert expected == [p.id for p in archive.posts if compiled.matches(p)]
    found = search_posts(archive.engine, query, limit=100_000, pseudonymise=pseudonymise)
    dialect: Dialect = "sqlite" if archive.engine.dialect.name == "sqlite" else "postgresql"
    context = f"{query!r} on {dialect}: {translate(compiled.query, dialect)}"
    assert [p.id for p in found] == expected, context
    assert count_posts(archive.engine, query, pseudonymise=pseudonymise) == len(expected), context
    page = search_posts(archive.engine, query, limit=5, offset=3, pseudonymise=pseudonymise)
    assert [p.id for p in page] == expected[3:8], context
    streamed = iter_posts(archive.engine, query, pseudonymise=pseudonymise)
    assert [p.id for p in streamed] == expected, context


SETTINGS = settings(
    max_examples=int(os.environ.get("STADSPULS_QUERY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@given(data=st.data())
@SETTINGS
def test_synthetic_corpus_search_equals_streaming(synthetic: Archive, data: st.DataObject) -> None:
    assert_agree(synthetic, data.draw(queries(synthetic.vocabulary), label="query"))


@pytest.mark.shared_data
@given(data=st.data())
@SETTINGS
def test_real_corpus_search_equals_streaming(real: Archive, data: st.DataObject) -> None:
    assert_agree(real, data.draw(queries(real.vocabulary), label="query"))


EXAMPLES = (
    '(stratumseind OR "stratum seind" OR #stratumseind) AND NOT (voetbal OR psv) lang:nl',
    "brand* NEAR/3 (fabriek OR loods) source:bluesky,rss",
    '#bommenberend OR ("groningen" AND (stroomstoring OR vuurwerk)) place:Groningen',
    "",
    "NOT brand",
    "-#brand",
    "cafe umit",
    "fiets*",
    "strasse",
    "wi-fi OR wifi",
    "politie nl",
    "@politie",
    "@u0123456789abcdef",
    "place:Groningen",
    'place:"Den Bosch" OR place:Eindhoven',
    "NOT place:Groningen",
    "has:media OR has:link",
    '"brand loods" OR brand NEAR/0 loods',
    "brandweer NEAR/2 loods",
    "σεισμος OR пожар OR 火事が発生",
    "or and near",
    "ha* OR men*",
    "hashtag0brand OR mention0u0123456789abcdef",
    '"in hashtag0brand"',
    "#brand NEAR/2 (loods OR fabriek)",
    "NOT (#brand OR place:Groningen)",
    "h* -#psv",
    "#psv OR #now OR @politie",
    "#cafe_umit OR #café",
)


@pytest.mark.parametrize("query", EXAMPLES)
def test_examples_search_equals_streaming(synthetic: Archive, query: str) -> None:
    assert_agree(synthetic, query)
