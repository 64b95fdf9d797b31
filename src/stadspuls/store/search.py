"""Archive search: the posts a monitor query matches, newest first, on SQLite or PostgreSQL.

The query is translated to SQL (`stadspuls.query.translate`): the full-text index narrows first,
filters and ORDER BY created_us DESC LIMIT do the rest. Where the translation over-selects
(hashtags, mentions, place:, NEAR on PostgreSQL, NOT of those) the candidates are streamed in
time order and filtered with the streaming matcher, so search and streaming give exactly the
same posts.

A page is read in time windows, newest first, that widen until it is full
(`stadspuls.store.search_plan`), so a common query does not read every match; the windows
partition time, so the page is the one a single search over everything gives.

With `timeout`, a search is cancelled once it runs past that many seconds, wherever the time
goes: PostgreSQL cancels the statement (`SET LOCAL statement_timeout`), SQLite's VM stops through
a progress handler, and the loop that filters candidates checks the same deadline. The caller
gets `SearchTimeout`; the connection is rolled back and returned to the pool in working order.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Literal

import msgspec
import sqlalchemy as sa

from stadspuls.query.ast import Query
from stadspuls.query.matcher import CompiledQuery, compile_query
from stadspuls.query.parser import Pseudonymise
from stadspuls.query.translate import (
    FTS_HIGHEST,
    FTS_LOWEST,
    Dialect,
    Translation,
    text_condition,
    translate,
)
from stadspuls.records import Place, Post
from stadspuls.store.database import connected
from stadspuls.store.posts import post_filters
from stadspuls.store.rows import COLUMNS, row_to_post, to_us
from stadspuls.store.schema import posts
from stadspuls.store.search_plan import TimeWindows, Window, plan_windows

__all__ = ["SearchTimeout", "count_posts", "iter_posts", "search_posts"]

_ORDER = "ORDER BY posts.created_us DESC, posts.pk DESC"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_strings = msgspec.json.Decoder(tuple[str, ...]).decode
_places = msgspec.json.Decoder(tuple[Place, ...]).decode
# Relative cost of walking ix_posts_created_us one step (with a membership test) against
# looking up and sorting one matched row; measured on a 1M-post archive.
_STEP_COST = 0.2

# SQLite VM instructions between two looks at the clock: at most about a millisecond of work,
# so a cancelled search stops close to its deadline, and the Python call stays rare enough to
# cost nothing measurable.
_PROGRESS_STEPS = 10_000

Plan = Literal["by_time", "by_rowid", "in_window"]


class SearchTimeout(RuntimeError):
    """A search ran past its time limit and was cancelled."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the search took too long (over {seconds:g} s) and was stopped; "
            "narrow the query or the time range"
        )
        self.seconds = seconds


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def check(self) -> None:
        if self.passed():
            raise SearchTimeout(self.seconds)


@contextmanager
def _connect(
    bind: sa.Engine | sa.Connection, timeout: float | None
) -> Iterator[tuple[sa.Connection, _Deadline | None]]:
    """A connection whose statements are cancelled at the deadline; `SearchTimeout` then.
    A caller's connection (`bind`) is used as it is and left open."""
    if timeout is None:
        with connected(bind) as conn:
            yield conn, None
        return
    deadline = _Deadline(timeout)
    with connected(bind) as conn:
        raw = conn.connection.driver_connection
        sqlite = raw if isinstance(raw, sqlite3.Connection) else None
        if sqlite is not None:
            sqlite.set_progress_handler(deadline.passed, _PROGRESS_STEPS)
        else:
            # Per statement (each FETCH of a streamed result is one); the candidate loop checks
            # the total. SET LOCAL ends with the transaction, which ends with this connection.
            milliseconds = max(1, math.ceil(timeout * 1000))
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
        try:
            yield conn, deadline
        except sa.exc.OperationalError as error:
            # SQLite: "interrupted"; PostgreSQL: QueryCanceled (SQLSTATE 57014).
            if deadline.passed() or getattr(error.orig, "sqlstate", None) == "57014":
                raise SearchTimeout(timeout) from error
            raise
        finally:
            if sqlite is not None:
                sqlite.set_progress_handler(None, 0)


def _checked(rows: Iterable[sa.RowMapping], deadline: _Deadline | None) -> Iterator[sa.RowMapping]:
    if deadline is None:
        yield from rows
        return
    for row in rows:
        deadline.check()
        yield row


def _prepare(
    bind: sa.Engine | sa.Connection, query: str | Query, pseudonymise: Pseudonymise | None
) -> tuple[CompiledQuery, Translation]:
    compiled = compile_query(query, pseudonymise=pseudonymise)
    dialect: Dialect = "sqlite" if bind.dialect.name == "sqlite" else "postgresql"
    return compiled, translate(compiled.query, dialect)


def _where(
    translation: Translation,
    *,
    since: datetime | None,
    until: datetime | None,
    sources: Sequence[str] | None,
    lang: str | None,
    place: str | None = None,
) -> list[sa.ColumnElement[bool]]:
    clauses = post_filters(since=since, until=until, sources=sources, lang=lang, place=place)
    if translation.where is not None:
        clauses.insert(0, translation.where)
    return clauses


def _plan(conn: sa.Connection, translation: Translation, wanted: int | None) -> Plan:
    """Which way to run the search: neither planner knows how many posts a full-text query
    matches (PostgreSQL guesses a fixed selectivity, FTS5 reports a fixed cost).

    by_rowid takes every post the full-text index matches (n), sorts them and keeps the newest:
    cost ~ n. by_time walks ix_posts_created_us from the newest post and keeps those that match:
    ~ wanted * total / n steps, stopping early; so by_time pays once n > sqrt(wanted * total *
    step cost), which is all that is counted (a capped count stays cheap for common words).
    Without a full-text part there is nothing to look up: by_time. Reading everything: by_rowid.
    """
    if translation.estimate is None:
        return "by_time"
    if wanted is None:
        return "by_rowid"
    (total,) = conn.exec_driver_sql("SELECT coalesce(max(pk), 0) FROM posts").one()
    threshold = math.isqrt(int(wanted * total * _STEP_COST)) + 1
    if conn.dialect.name == "sqlite":
        counting = "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?"
        params: tuple[object, ...] = (translation.estimate, threshold)
        counted = f"SELECT count(*) FROM ({counting} LIMIT ?)"
    else:
        counting = "SELECT 1 FROM posts WHERE tsv @@ CAST(%s AS tsquery)"
        params = (translation.estimate, threshold)
        counted = f"SELECT count(*) FROM ({counting} LIMIT %s) AS matched"
    (n,) = conn.exec_driver_sql(counted, params).one()
    return "by_time" if n >= threshold else "by_rowid"


def _rows(
    conn: sa.Connection,
    translation: Translation,
    where: list[sa.ColumnElement[bool]],
    *,
    limit: int | None = None,
    offset: int = 0,
    window: Window | None = None,
    known: Plan | None = None,
) -> Generator[sa.RowMapping, None, None]:
    """The selected rows, newest first, fetched while they are read; within `window` only.
    `known`: the plan, when the caller already knows it (else `_plan` decides)."""
    columns = [posts.c.pk, *[posts.c[name] for name in COLUMNS]]
    if window is not None:
        plan: Plan = "in_window"
        where = [*where, *_in_window(window)]
    else:
        plan = known or _plan(conn, translation, None if limit is None else limit + offset)
    if conn.dialect.name != "sqlite":
        select = sa.select(*columns).where(*where)
        # "+ 0" hides the index order from PostgreSQL, which then starts from the GIN index;
        # within a window its planner weighs the created_us range itself.
        newest = posts.c.created_us + 0 if plan == "by_rowid" else posts.c.created_us
        select = select.order_by(newest.desc(), posts.c.pk.desc())
        if limit is not None:
            select = select.limit(limit).offset(offset)
        # Per statement: `Connection.execution_options` would change the caller's connection,
        # and the statements after this one (the count, the audit row) are not streamed.
        streaming = {"stream_results": True, "yield_per": 1000}
        with conn.execute(select, execution_options=streaming) as result:
            yield from result.mappings()
        return
    # SQLAlchemy renders no index hints for SQLite: the statement is assembled around the
    # compiled WHERE clause (all values stay bound parameters).
    if plan == "by_time":
        source = "posts INDEXED BY ix_posts_created_us"
    elif plan == "by_rowid":
        source = "posts NOT INDEXED"
    elif translation.text is not None:
        # In a window, start from the (bounded) full-text lookup every selected post passes.
        source = "posts NOT INDEXED"
        where = [text_condition(translation.text, "sqlite"), *where]
    else:
        source = "posts INDEXED BY ix_posts_created_us"
    selected = ", ".join(f"posts.{c.name}" for c in columns)
    # A page sorted from many matches sorts only (created_us, pk) and reads its rows after:
    # SQLite's sorter would otherwise carry every column of every match.
    late = limit is not None and plan != "by_time"
    sql = f"SELECT {'posts.pk' if late else selected} FROM {source}"
    params: tuple[object, ...] = ()
    if where:
        compiled = sa.and_(*where).compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
        )
        sql += f" WHERE {compiled}"
        values = dict(compiled.params)
        if window is not None and window.pk_lowest is not None:
            values[FTS_LOWEST.key] = window.pk_lowest
            values[FTS_HIGHEST.key] = window.pk_highest
        params = tuple(values[name] for name in compiled.positiontup or ())
    sql += f" {_ORDER}"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    if late:
        sql = f"SELECT {selected} FROM posts WHERE posts.pk IN ({sql}) {_ORDER}"
    with conn.exec_driver_sql(sql, params) as result:
        yield from result.mappings()


def _in_window(window: Window) -> list[sa.ColumnElement[bool]]:
    clauses = []
    if window.lowest is not None:
        clauses.append(posts.c.created_us >= window.lowest)
    if window.highest is not None:
        clauses.append(posts.c.created_us < window.highest)
    return clauses


def _matchable(row: sa.RowMapping) -> Post:
    """What the matcher reads of a row: decoding every column costs more than matching."""
    return Post(
        id=row["id"],
        source=row["source"],
        native_id="",
        created_at=_EPOCH,
        text=row["text"],
        lang=row["lang"],
        hashtags=_strings(row["hashtags"]) if row["hashtags"] else (),
        mentions=_strings(row["mentions"]) if row["mentions"] else (),
        links=_strings(row["links"]) if row["links"] else (),
        media=_strings(row["media"]) if row["media"] else (),
        places=_places(row["places"]) if row["places"] else (),
    )


def search_posts(
    bind: sa.Engine | sa.Connection,
    query: str | Query,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    place: str | None = None,
    limit: int = 50,
    offset: int = 0,
    pseudonymise: Pseudonymise | None = None,
    timeout: float | None = None,
    windowed: bool = True,
) -> list[Post]:
    """Stored posts matching `query` (text, or parsed), newest first. An empty query matches
    every post. Raises `QuerySyntaxError` for a query that does not parse, `SearchTimeout`
    when `timeout` (seconds) passes first.

    `pseudonymise` turns `@handle` terms into the pseudonyms stored posts carry; pass the
    door's (`Pseudonymiser.pseudonym`) whenever mentions are pseudonymised.

    A page is searched in time windows that widen until it is full (`store.search_plan`);
    `windowed=False` searches the whole archive at once instead, with the same answer (for
    tests and benchmarks that compare the two).
    """
    if limit <= 0:
        return []
    compiled, translation = _prepare(bind, query, pseudonymise)
    where = _where(translation, since=since, until=until, sources=sources, lang=lang, place=place)
    wanted = offset + limit
    with _connect(bind, timeout) as (conn, deadline):
        windows: TimeWindows | Plan | None = None
        if windowed:
            windows = plan_windows(
                conn, translation, wanted,
                since_us=None if since is None else to_us(since),
                until_us=None if until is None else to_us(until),
            )  # fmt: skip
        if not isinstance(windows, TimeWindows):
            if translation.exact:
                rows = _rows(conn, translation, where, limit=limit, offset=offset, known=windows)
                return [row_to_post(row) for row in _checked(rows, deadline)]
            return _matching(compiled, _rows(conn, translation, where), deadline, wanted)[offset:]
        found: list[Post] = []
        for window in windows:
            if translation.exact:
                rows = _rows(conn, translation, where, limit=wanted - len(found), window=window)
                found.extend(row_to_post(row) for row in _checked(rows, deadline))
            else:
                rows = _rows(conn, translation, where, window=window)
                found.extend(_matching(compiled, rows, deadline, wanted - len(found)))
            windows.found = len(found)
            if len(found) >= wanted:
                break
    return found[offset:wanted]


def _matching(
    compiled: CompiledQuery,
    rows: Generator[sa.RowMapping, None, None],
    deadline: _Deadline | None,
    wanted: int,
) -> list[Post]:
    """The first `wanted` candidate rows the matcher accepts (the rows are closed after)."""
    found: list[Post] = []
    with closing(rows):
        for row in _checked(rows, deadline):
            if compiled.matches(_matchable(row)):
                found.append(row_to_post(row))
                if len(found) >= wanted:
                    break
    return found


def iter_posts(
    engine: sa.Engine,
    query: str | Query,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    pseudonymise: Pseudonymise | None = None,
) -> Iterator[Post]:
    """Every stored post matching `query`, newest first, read as it is consumed: for backfills
    and exports (paging with `search_posts` and a growing offset re-reads the skipped rows)."""
    compiled, translation = _prepare(engine, query, pseudonymise)
    where = _where(translation, since=since, until=until, sources=sources, lang=lang)
    with engine.connect() as conn, closing(_rows(conn, translation, where)) as rows:
        for row in rows:
            if translation.exact or compiled.matches(_matchable(row)):
                yield row_to_post(row)


def count_posts(
    bind: sa.Engine | sa.Connection,
    query: str | Query,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    place: str | None = None,
    pseudonymise: Pseudonymise | None = None,
    timeout: float | None = None,
) -> int:
    """How many stored posts `search_posts` would find without a limit (`SearchTimeout` when
    `timeout` seconds pass first)."""
    compiled, translation = _prepare(bind, query, pseudonymise)
    where = _where(translation, since=since, until=until, sources=sources, lang=lang, place=place)
    with _connect(bind, timeout) as (conn, deadline):
        if translation.exact:
            counted = sa.select(sa.func.count()).select_from(posts).where(*where)
            return int(conn.execute(counted).scalar_one())
        with closing(_rows(conn, translation, where)) as rows:
            return sum(1 for row in _checked(rows, deadline) if compiled.matches(_matchable(row)))
