"""Archive search: the posts a monitor query matches, newest first, on SQLite or PostgreSQL.

The query is translated to SQL (`stadspuls.query.translate`): the full-text index narrows first,
filters and ORDER BY created_us DESC LIMIT do the rest. Where the translation over-selects
(hashtags, mentions, place:, NEAR on PostgreSQL, NOT of those) the candidates are read in pages
and filtered with the streaming matcher, so search and streaming give exactly the same posts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.query.ast import Query
from stadspuls.query.matcher import CompiledQuery, compile_query
from stadspuls.query.parser import Pseudonymise
from stadspuls.query.translate import Translation, translate
from stadspuls.records import Post
from stadspuls.store.posts import COLUMNS, row_to_post, to_us
from stadspuls.store.schema import posts

__all__ = ["count_posts", "search_posts"]

# Candidates read per round trip when the translation over-selects.
_MIN_PAGE = 200
_COUNT_PAGE = 5_000


def _prepare(
    engine: sa.Engine, query: str | Query, pseudonymise: Pseudonymise | None
) -> tuple[CompiledQuery, Translation]:
    compiled = compile_query(query, pseudonymise=pseudonymise)
    dialect = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    return compiled, translate(compiled.query, dialect)


def _where(
    translation: Translation,
    *,
    since: datetime | None,
    until: datetime | None,
    sources: Sequence[str] | None,
    lang: str | None,
) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if translation.where is not None:
        clauses.append(translation.where)
    if since is not None:
        clauses.append(posts.c.created_us >= to_us(since))
    if until is not None:
        clauses.append(posts.c.created_us < to_us(until))
    if sources:
        clauses.append(posts.c.source.in_(list(sources)))
    if lang:
        clauses.append(posts.c.lang == lang)
    return clauses


def _select(where: list[sa.ColumnElement[bool]]) -> sa.Select[tuple[object, ...]]:
    return (
        sa.select(posts.c.pk, *[posts.c[name] for name in COLUMNS])
        .where(*where)
        .order_by(posts.c.created_us.desc(), posts.c.pk.desc())
    )


def _candidates(
    conn: sa.Connection, where: list[sa.ColumnElement[bool]], page: int
) -> Iterator[Post]:
    """Every selected post, newest first, read in pages (keyset pagination on created_us, pk)."""
    after: tuple[int, int] | None = None
    while True:
        clauses = list(where)
        if after is not None:
            created_us, pk = after
            clauses.append(
                sa.or_(
                    posts.c.created_us < created_us,
                    sa.and_(posts.c.created_us == created_us, posts.c.pk < pk),
                )
            )
        rows = conn.execute(_select(clauses).limit(page)).mappings().all()
        for row in rows:
            yield row_to_post(row)
        if len(rows) < page:
            return
        last = rows[-1]
        after = (last["created_us"], last["pk"])


def search_posts(
    engine: sa.Engine,
    query: str | Query,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    limit: int = 50,
    offset: int = 0,
    pseudonymise: Pseudonymise | None = None,
) -> list[Post]:
    """Stored posts matching `query` (text, or parsed), newest first. An empty query matches
    every post. Raises `QuerySyntaxError` for a query that does not parse.

    `pseudonymise` turns `@handle` terms into the pseudonyms stored posts carry; pass the
    door's pseudonymiser (`Pseudonymiser.pseudonym`) whenever mentions are pseudonymised.
    """
    if limit <= 0:
        return []
    compiled, translation = _prepare(engine, query, pseudonymise)
    where = _where(translation, since=since, until=until, sources=sources, lang=lang)
    with engine.connect() as conn:
        if translation.exact:
            rows = conn.execute(_select(where).limit(limit).offset(offset)).mappings()
            return [row_to_post(row) for row in rows]
        wanted = offset + limit
        found: list[Post] = []
        for post in _candidates(conn, where, max(_MIN_PAGE, 2 * wanted)):
            if compiled.matches(post):
                found.append(post)
                if len(found) >= wanted:
                    break
    return found[offset:wanted]


def count_posts(
    engine: sa.Engine,
    query: str | Query,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    pseudonymise: Pseudonymise | None = None,
) -> int:
    """How many stored posts `search_posts` would find without a limit."""
    compiled, translation = _prepare(engine, query, pseudonymise)
    where = _where(translation, since=since, until=until, sources=sources, lang=lang)
    with engine.connect() as conn:
        if translation.exact:
            counted = sa.select(sa.func.count()).select_from(posts).where(*where)
            return int(conn.execute(counted).scalar_one())
        return sum(1 for post in _candidates(conn, where, _COUNT_PAGE) if compiled.matches(post))
