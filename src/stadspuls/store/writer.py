"""The one writer: batched, one transaction per batch.

A batch holds new posts, deletions, the latest checkpoint per stream and counter increments; all
of it commits together, so after a crash the cursors point exactly behind what is stored. A post
id already stored is skipped (sources may re-deliver after a resume), so every post is stored
once. The full-text index is written explicitly in the same transaction: on SQLite a contentless
FTS5 table keyed by posts.pk, on PostgreSQL the posts.tsv column.

An author's deletion removes the post and leaves a tombstone (the id and the deletion time, no
content); a post whose id has a tombstone is never stored again, from any source, also when the
deletion arrived first. Retention is not an author's deletion: `expire` removes posts without a
tombstone, so a later import for a new purpose may store them again.

The `stored` and `tombstoned` counters per source are counted here, from what the transaction
really inserted, so several processes importing the same posts count each post once.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from stadspuls.query.text import index_text
from stadspuls.records import Checkpoint, Deletion, Post, utcnow
from stadspuls.store.imports import DAY_US
from stadspuls.store.rows import COLUMNS, check_stored_id, post_to_row, to_us

# One transaction-scoped advisory lock serialises PostgreSQL writers, as BEGIN IMMEDIATE does on
# SQLite: without it a deletion and its post committed at once by two processes could each miss
# the other (read committed), and the post would outlive its tombstone.
_PG_WRITE_LOCK = 0x5354_4144_5350  # "STADSP"

# An import adopts a post that is already stored when it keeps the post longer than the import
# (if any) that stored it: the longest period wins, as with monitors.
_ADOPT = (
    "UPDATE posts SET import_id = {m} WHERE id IN ({ids}) AND (import_id IS NULL OR"
    " (import_id <> {m} AND (SELECT i.started_us + i.retention_days * {day} FROM imports i"
    " WHERE i.id = posts.import_id) < (SELECT i.started_us + i.retention_days * {day}"
    " FROM imports i WHERE i.id = {m})))"
)


@dataclass
class Batch:
    posts: list[Post] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    checkpoints: dict[str, str] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    import_id: int | None = None  # the file import these posts come from (imports.id)
    # The cluster writer's lanes (stadspuls.cluster.watermark): lane → (watermark, state JSON),
    # stored with the posts and checkpoints they account for.
    lanes: dict[str, tuple[int, str]] = field(default_factory=dict)

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
    tombstoned: int = 0  # posts not stored because their id was deleted


def _index_body(post: Post) -> str:
    """The full-text body: the door's (`Post.index_body`), or folded here for a post that did
    not come through a door (tests, tools)."""
    return post.index_body if post.index_body is not None else index_text(post.text)


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
        columns = ", ".join((*COLUMNS, "import_id"))
        if self.dialect == "sqlite":
            self._isolation = self._dbapi.isolation_level
            self._dbapi.isolation_level = None  # explicit BEGIN IMMEDIATE … COMMIT
            placeholders = ", ".join(["?"] * (len(COLUMNS) + 2))
            self._insert_sql = (
                f"INSERT INTO posts (pk, {columns}) VALUES ({placeholders})"
                " ON CONFLICT (id) DO NOTHING"
            )
        else:
            placeholders = ", ".join(["%s"] * (len(COLUMNS) + 1))
            self._insert_sql = (
                f"INSERT INTO posts ({columns}, tsv) VALUES ({placeholders},"
                " to_tsvector('simple', %s)) ON CONFLICT (id) DO NOTHING RETURNING id"
            )

    def close(self) -> None:
        if self.dialect == "sqlite":
            # The connection goes back to the pool: SQLAlchemy's transactions need the driver's
            # own transaction handling there again.
            self._dbapi.isolation_level = self._isolation
        self._raw.close()

    def __enter__(self) -> PostWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, batch: Batch) -> WriteResult:
        for deletion in batch.deletions:
            check_stored_id(deletion.id)
        if self.dialect == "sqlite":
            return self._write_sqlite(batch)
        return self._write_postgres(batch)

    @contextmanager
    def _sqlite_transaction(self) -> Iterator[sqlite3.Cursor]:
        """A cursor in a transaction that holds SQLite's write lock from its start."""
        cur: sqlite3.Cursor = self._dbapi.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    def expire(self, ids: Sequence[str]) -> int:
        """Delete posts whose retention has passed; unlike an author's deletion, no tombstone."""
        if self.dialect == "sqlite":
            with self._sqlite_transaction() as cur:
                return self._delete_sqlite(cur, ids)
        with self._dbapi.transaction(), self._dbapi.cursor() as pg:
            pg.execute("DELETE FROM posts WHERE id = ANY(%s)", (list(ids),))
            return int(pg.rowcount)

    @staticmethod
    def _fresh_posts(batch: Batch) -> list[Post]:
        seen: set[str] = set()
        fresh = []
        for post in batch.posts:
            if post.id not in seen:
                seen.add(post.id)
                fresh.append(post)
        return fresh

    @staticmethod
    def _buried(cur: Any, ids: Sequence[str], mark: str) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(ids):
            marks = ",".join([mark] * len(chunk))
            cur.execute(f"SELECT id FROM tombstones WHERE id IN ({marks})", tuple(chunk))
            found.update(row[0] for row in cur.fetchall())
        return found

    @staticmethod
    def _adopt(cur: Any, import_id: int, ids: Sequence[str], mark: str) -> None:
        for chunk in _chunks(ids):
            sql = _ADOPT.format(m=mark, ids=",".join([mark] * len(chunk)), day=DAY_US)
            cur.execute(sql, (import_id, *chunk, import_id, import_id))

    def _write_sqlite(self, batch: Batch) -> WriteResult:
        collected_us = to_us(utcnow())
        candidates = self._fresh_posts(batch)
        # Everything that can fail or take time happens before the write lock is taken.
        rows = [(*post_to_row(p, collected_us), batch.import_id) for p in candidates]
        bodies = [_index_body(p) for p in candidates]
        deleted_now = {d.id for d in batch.deletions}
        with self._sqlite_transaction() as cur:
            buried = self._buried(cur, [p.id for p in candidates], "?") | deleted_now
            live = [i for i, p in enumerate(candidates) if p.id not in buried]
            (max_pk,) = cur.execute("SELECT coalesce(max(pk), 0) FROM posts").fetchone()
            # pks are assigned here (one writer); an id already stored leaves its pk unused, so
            # one range scan afterwards tells which rows went in: cheaper than looking ids up.
            pks = [max_pk + n + 1 for n in range(len(live))]
            cur.executemany(
                self._insert_sql, [(pk, *rows[i]) for pk, i in zip(pks, live, strict=True)]
            )
            inserted = {pk for (pk,) in cur.execute("SELECT pk FROM posts WHERE pk > ?", (max_pk,))}
            went_in = [(pk, i) for pk, i in zip(pks, live, strict=True) if pk in inserted]
            kept = [i for _, i in went_in]
            cur.executemany(
                "INSERT INTO posts_fts (rowid, body) VALUES (?, ?)",
                [(pk, bodies[i]) for pk, i in went_in],
            )
            if batch.import_id is not None and len(kept) < len(live):
                kept_set = set(kept)
                already = [candidates[i].id for i in live if i not in kept_set]
                self._adopt(cur, batch.import_id, already, "?")
            deleted = self._delete_sqlite(cur, list(deleted_now))
            self._bury(cur, batch.deletions, "?")
            stored = [candidates[i] for i in kept]
            buried_posts = [p for p in candidates if p.id in buried]
            self._bookkeeping(cur, batch, stored, buried_posts, "?")
        return WriteResult(
            inserted=len(kept),
            already_stored=len(batch.posts) - len(kept) - len(buried_posts),
            deleted=deleted,
            inserted_ids=tuple(p.id for p in stored),
            tombstoned=len(buried_posts),
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

    @staticmethod
    def _bury(cur: Any, deletions: Sequence[Deletion], mark: str) -> None:
        if deletions:
            # The first deletion time recorded stays: a re-delivered deletion changes nothing.
            cur.executemany(
                f"INSERT INTO tombstones (id, deleted_us) VALUES ({mark}, {mark})"
                " ON CONFLICT (id) DO NOTHING",
                [(d.id, to_us(d.at)) for d in deletions],
            )

    def _write_postgres(self, batch: Batch) -> WriteResult:
        collected_us = to_us(utcnow())
        candidates = self._fresh_posts(batch)
        rows = [
            (*post_to_row(p, collected_us), batch.import_id, _index_body(p)) for p in candidates
        ]
        deleted_now = {d.id for d in batch.deletions}
        conn = self._dbapi
        inserted_ids: list[str] = []
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_WRITE_LOCK,))
            buried = deleted_now
            if candidates:
                cur.execute(
                    "SELECT id FROM tombstones WHERE id = ANY(%s)", ([p.id for p in candidates],)
                )
                buried = buried | {row[0] for row in cur.fetchall()}
            live = [i for i, p in enumerate(candidates) if p.id not in buried]
            if live:
                cur.executemany(self._insert_sql, [rows[i] for i in live], returning=True)
                while True:
                    inserted_ids.extend(r[0] for r in cur.fetchall())
                    if not cur.nextset():
                        break
            fresh = set(inserted_ids)
            if batch.import_id is not None and len(fresh) < len(live):
                already = [candidates[i].id for i in live if candidates[i].id not in fresh]
                self._adopt(cur, batch.import_id, already, "%s")
            deleted = 0
            if deleted_now:
                cur.execute("DELETE FROM posts WHERE id = ANY(%s)", (list(deleted_now),))
                deleted = cur.rowcount
            self._bury(cur, batch.deletions, "%s")
            stored = [p for p in candidates if p.id in fresh]
            buried_posts = [p for p in candidates if p.id in buried]
            self._bookkeeping(cur, batch, stored, buried_posts, "%s")
        return WriteResult(
            inserted=len(inserted_ids),
            already_stored=len(batch.posts) - len(inserted_ids) - len(buried_posts),
            deleted=deleted,
            inserted_ids=tuple(p.id for p in stored),
            tombstoned=len(buried_posts),
        )

    @staticmethod
    def _bookkeeping(
        cur: Any, batch: Batch, stored: Sequence[Post], buried: Sequence[Post], mark: str
    ) -> None:
        now = to_us(utcnow())
        if batch.checkpoints:
            cur.executemany(
                f"INSERT INTO cursors (stream, cursor, updated_us) VALUES ({mark}, {mark}, {mark})"
                " ON CONFLICT (stream) DO UPDATE SET cursor = excluded.cursor,"
                " updated_us = excluded.updated_us",
                [(stream, cursor, now) for stream, cursor in batch.checkpoints.items()],
            )
        if batch.lanes:
            cur.executemany(
                f"INSERT INTO cluster_lanes (lane, watermark, state, updated_us) VALUES ({mark},"
                f" {mark}, {mark}, {mark}) ON CONFLICT (lane) DO UPDATE SET"
                " watermark = excluded.watermark, state = excluded.state,"
                " updated_us = excluded.updated_us",
                [(lane, mark_, state, now) for lane, (mark_, state) in batch.lanes.items()],
            )
        # A copy: the batch may be written again after a failed attempt, and must not count twice.
        counters = Counter(batch.counters)
        counters.update((p.source, "stored") for p in stored)
        counters.update((p.source, "tombstoned") for p in buried)
        if counters:
            cur.executemany(
                f"INSERT INTO source_counters (source, counter, value) VALUES ({mark}, {mark},"
                f" {mark}) ON CONFLICT (source, counter) DO UPDATE SET"
                " value = source_counters.value + excluded.value",
                [(s, c, n) for (s, c), n in sorted(counters.items())],
            )
