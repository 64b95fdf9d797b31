"""The one writer: batched, one transaction per batch.

A batch holds new posts, deletions, the latest checkpoint per stream and counter increments; all
of it commits together, so after a crash the cursors point exactly behind what is stored. A post
id already stored is skipped (sources may re-deliver after a resume), so every post is stored
once. The full-text index is written explicitly in the same transaction: on SQLite a contentless
FTS5 table keyed by posts.pk, on PostgreSQL the posts.tsv column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from stadspuls.query.text import index_text
from stadspuls.records import Checkpoint, Deletion, Post, utcnow
from stadspuls.store.rows import COLUMNS, check_stored_id, post_to_row, to_us


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
        for deletion in batch.deletions:
            check_stored_id(deletion.id)
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
        for deletion in batch.deletions:
            check_stored_id(deletion.id)
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
