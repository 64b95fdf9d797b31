"""Writing and reading posts. The writer is the only one: batched, one transaction per batch.

A batch holds new posts, deletions, the latest checkpoint per stream and counter increments; all
of it commits together, so after a crash the cursors point exactly behind what is stored. A post
id already stored is skipped (sources may re-deliver after a resume), so every post is stored
once. The full-text index is written explicitly in the same transaction: on SQLite a contentless
FTS5 table keyed by posts.pk, on PostgreSQL the posts.tsv column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from stadspuls.query.text import index_text
from stadspuls.records import Checkpoint, Deletion, Place, Post, utcnow
from stadspuls.store.schema import cursors, posts, source_counters

_json_encode = msgspec.json.Encoder().encode
_places_decode = msgspec.json.Decoder(tuple[Place, ...]).decode
_strings_decode = msgspec.json.Decoder(tuple[str, ...]).decode

COLUMNS = (
    "id", "source", "native_id", "created_us", "collected_us", "text", "author_key", "url",
    "lang_declared", "lang", "lang_score", "hashtags", "mentions", "links", "media", "lat",
    "lon", "reply_to", "repost_of", "content_hash", "simhash", "duplicate_of", "duplicate_kind",
    "sentiment", "sentiment_score", "incident_type", "incident_score", "humanitarian",
    "informativeness", "rumour_score", "places",
)  # fmt: skip
_LIST_COLUMNS = ("hashtags", "mentions", "links", "media")


class UnpseudonymisedPost(ValueError):
    """A post still carries a raw author handle: it did not pass the door."""


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must be UTC-aware")
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def _json_or_none(values: tuple[Any, ...]) -> str | None:
    return _json_encode(values).decode() if values else None


def post_to_row(post: Post, collected_us: int) -> tuple[Any, ...]:
    if post.author is not None:
        raise UnpseudonymisedPost(
            f"post {post.id} has a raw author handle; run it through the door"
        )
    return (
        post.id,
        post.source,
        post.native_id,
        to_us(post.created_at),
        to_us(post.collected_at) if post.collected_at else collected_us,
        post.text,
        post.author_key,
        post.url,
        post.lang_declared,
        post.lang,
        post.lang_score,
        _json_or_none(post.hashtags),
        _json_or_none(post.mentions),
        _json_or_none(post.links),
        _json_or_none(post.media),
        post.lat,
        post.lon,
        post.reply_to,
        post.repost_of,
        post.content_hash,
        post.simhash,
        post.duplicate_of,
        post.duplicate_kind,
        post.sentiment,
        post.sentiment_score,
        post.incident_type,
        post.incident_score,
        post.humanitarian,
        post.informativeness,
        post.rumour_score,
        _json_or_none(post.places),
    )


def row_to_post(row: Mapping[Any, Any]) -> Post:
    """Map a `posts` row (any mapping with the column names) back to a Post."""
    values: dict[str, Any] = {}
    for name in COLUMNS:
        value = row[name]
        if name in _LIST_COLUMNS:
            value = _strings_decode(value) if value else ()
        elif name == "places":
            value = _places_decode(value) if value else ()
        values[name] = value
    created_us = values.pop("created_us")
    collected_us = values.pop("collected_us")
    return Post(created_at=from_us(created_us), collected_at=from_us(collected_us), **values)


@dataclass
class Batch:
    posts: list[Post] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    checkpoints: dict[str, str] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, item: Post | Deletion | Checkpoint) -> None:
        if isinstance(item, Post):
            self.posts.append(item)
        elif isinstance(item, Deletion):
            self.deletions.append(item)
        else:
            self.checkpoints[item.stream] = item.cursor

    def count(self, source: str, counter: str, n: int = 1) -> None:
        key = (source, counter)
        self.counters[key] = self.counters.get(key, 0) + n

    def __len__(self) -> int:
        return len(self.posts) + len(self.deletions)


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    already_stored: int
    deleted: int
    inserted_ids: tuple[str, ...] = ()


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class PostWriter:
    """The single writer. Holds one connection; call `write` with a batch, `close` at the end."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._raw = engine.raw_connection()
        self._dbapi: Any = self._raw.driver_connection
        if self._dbapi is None:
            raise RuntimeError("the database driver gave no connection")
        if self.dialect == "sqlite":
            self._dbapi.isolation_level = None  # explicit BEGIN IMMEDIATE … COMMIT
            placeholders = ", ".join(["?"] * (len(COLUMNS) + 1))
            self._insert_sql = (
                f"INSERT INTO posts (pk, {', '.join(COLUMNS)}) VALUES ({placeholders})"
                " ON CONFLICT (id) DO NOTHING"
            )
        else:
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            self._insert_sql = (
                f"INSERT INTO posts ({', '.join(COLUMNS)}, tsv) VALUES ({placeholders},"
                " to_tsvector('simple', %s)) ON CONFLICT (id) DO NOTHING RETURNING id"
            )

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> PostWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, batch: Batch) -> WriteResult:
        if self.dialect == "sqlite":
            return self._write_sqlite(batch)
        return self._write_postgres(batch)

    @staticmethod
    def _fresh_posts(batch: Batch) -> list[Post]:
        seen: set[str] = set()
        fresh = []
        for post in batch.posts:
            if post.id not in seen:
                seen.add(post.id)
                fresh.append(post)
        return fresh

    def _write_sqlite(self, batch: Batch) -> WriteResult:
        collected_us = to_us(utcnow())
        candidates = self._fresh_posts(batch)
        # Everything that can fail or take time happens before the write lock is taken.
        rows = [post_to_row(p, collected_us) for p in candidates]
        bodies = [index_text(p.text) for p in candidates]
        cur: sqlite3.Cursor = self._dbapi.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            (max_pk,) = cur.execute("SELECT coalesce(max(pk), 0) FROM posts").fetchone()
            # pks are assigned here (one writer); an id already stored leaves its pk unused, so
            # one range scan afterwards tells which rows went in: cheaper than looking ids up.
            cur.executemany(
                self._insert_sql, [(max_pk + i + 1, *row) for i, row in enumerate(rows)]
            )
            inserted = {pk for (pk,) in cur.execute("SELECT pk FROM posts WHERE pk > ?", (max_pk,))}
            kept = [i for i in range(len(candidates)) if max_pk + i + 1 in inserted]
            cur.executemany(
                "INSERT INTO posts_fts (rowid, body) VALUES (?, ?)",
                [(max_pk + i + 1, bodies[i]) for i in kept],
            )
            deleted = self._delete_sqlite(cur, [d.id for d in batch.deletions])
            self._bookkeeping(cur, batch, "?")
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()
        return WriteResult(
            inserted=len(kept),
            already_stored=len(batch.posts) - len(kept),
            deleted=deleted,
            inserted_ids=tuple(candidates[i].id for i in kept),
        )

    @staticmethod
    def _delete_sqlite(cur: sqlite3.Cursor, ids: Sequence[str]) -> int:
        deleted = 0
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            found = cur.execute(f"SELECT pk, text FROM posts WHERE id IN ({marks})", chunk)
            victims = found.fetchall()
            if not victims:
                continue
            cur.executemany(
                "INSERT INTO posts_fts (posts_fts, rowid, body) VALUES ('delete', ?, ?)",
                [(pk, index_text(text)) for pk, text in victims],
            )
            cur.executemany("DELETE FROM posts WHERE pk = ?", [(pk,) for pk, _ in victims])
            deleted += len(victims)
        return deleted

    def _write_postgres(self, batch: Batch) -> WriteResult:
        collected_us = to_us(utcnow())
        candidates = self._fresh_posts(batch)
        rows = [(*post_to_row(p, collected_us), index_text(p.text)) for p in candidates]
        conn = self._dbapi
        inserted_ids: list[str] = []
        with conn.transaction(), conn.cursor() as cur:
            if rows:
                cur.executemany(self._insert_sql, rows, returning=True)
                while True:
                    inserted_ids.extend(r[0] for r in cur.fetchall())
                    if not cur.nextset():
                        break
            deleted = 0
            ids = list(dict.fromkeys(d.id for d in batch.deletions))
            if ids:
                cur.execute("DELETE FROM posts WHERE id = ANY(%s)", (ids,))
                deleted = cur.rowcount
            self._bookkeeping(cur, batch, "%s")
        return WriteResult(
            inserted=len(inserted_ids),
            already_stored=len(batch.posts) - len(inserted_ids),
            deleted=deleted,
            inserted_ids=tuple(inserted_ids),
        )

    @staticmethod
    def _bookkeeping(cur: Any, batch: Batch, mark: str) -> None:
        now = to_us(utcnow())
        if batch.checkpoints:
            cur.executemany(
                f"INSERT INTO cursors (stream, cursor, updated_us) VALUES ({mark}, {mark}, {mark})"
                " ON CONFLICT (stream) DO UPDATE SET cursor = excluded.cursor,"
                " updated_us = excluded.updated_us",
                [(stream, cursor, now) for stream, cursor in batch.checkpoints.items()],
            )
        if batch.counters:
            cur.executemany(
                f"INSERT INTO source_counters (source, counter, value) VALUES ({mark}, {mark},"
                f" {mark}) ON CONFLICT (source, counter) DO UPDATE SET"
                " value = source_counters.value + excluded.value",
                [(s, c, n) for (s, c), n in batch.counters.items()],
            )


# Reading ---------------------------------------------------------------------------------------


def post_filters(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if since is not None:
        clauses.append(posts.c.created_us >= to_us(since))
    if until is not None:
        clauses.append(posts.c.created_us < to_us(until))
    if sources:
        clauses.append(posts.c.source.in_(list(sources)))
    if lang:
        clauses.append(posts.c.lang == lang)
    return clauses


def list_posts(
    engine: sa.Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Post]:
    """Stored posts, newest first, without a text query."""
    query = (
        sa.select(*[posts.c[name] for name in COLUMNS])
        .where(*post_filters(since=since, until=until, sources=sources, lang=lang))
        .order_by(posts.c.created_us.desc(), posts.c.pk.desc())
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        return [row_to_post(row._mapping) for row in conn.execute(query)]


def get_post(engine: sa.Engine, post_id: str) -> Post | None:
    query = sa.select(*[posts.c[name] for name in COLUMNS]).where(posts.c.id == post_id)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else row_to_post(row._mapping)


def count_all(
    engine: sa.Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
) -> int:
    query = sa.select(sa.func.count()).select_from(posts)
    query = query.where(*post_filters(since=since, until=until, sources=sources, lang=lang))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def volume(
    engine: sa.Engine,
    *,
    bucket_seconds: int,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
) -> list[tuple[datetime, int]]:
    """Post counts per time bucket (buckets aligned to the epoch, UTC), oldest first."""
    if bucket_seconds <= 0:
        raise ValueError("bucket_seconds must be positive")
    width = bucket_seconds * 1_000_000
    bucket = (posts.c.created_us // width).label("bucket")
    query = (
        sa.select(bucket, sa.func.count().label("n"))
        .where(*post_filters(since=since, until=until, sources=sources, lang=lang))
        .group_by(bucket)
        .order_by(bucket)
    )
    with engine.connect() as conn:
        return [(from_us(int(b) * width), int(n)) for b, n in conn.execute(query)]


def load_cursors(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {row.stream: row.cursor for row in conn.execute(sa.select(cursors))}


def load_counters(engine: sa.Engine) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.select(source_counters)):
            out.setdefault(row.source, {})[row.counter] = int(row.value)
    return out


def recent_fingerprints(engine: sa.Engine, n: int) -> Iterable[tuple[str, str | None, int | None]]:
    """(id, content_hash, simhash) of the `n` most recently collected posts, oldest first."""
    query = (
        sa.select(posts.c.id, posts.c.content_hash, posts.c.simhash)
        .order_by(posts.c.pk.desc())
        .limit(n)
    )
    with engine.connect() as conn:
        rows: list[tuple[str, str | None, int | None]] = [
            (r.id, r.content_hash, r.simhash) for r in conn.execute(query)
        ]
    return reversed(rows)
