"""Pre-aggregated counts per monitor, so that no page counts over posts.

The consumer "rollup" follows the linker (stadspuls.consumers) and keeps, exactly, per monitor
and UTC hour (`monitor_buckets`: posts, distinct authors, sentiment counts, newest post) and per
monitor, UTC day and value (`monitor_facets`: hashtags, municipalities, incident types,
languages, sources; posts, distinct authors, negative posts).

It increments: a chunk's posts are counted per cell, and their authors are checked against the
posts the cell already holds (stored before the chunk, linked to the same monitor, by the same
authors, in the same hours and days: an index lookup by author, not a recount of the cell). A
recount of every touched cell would read a busy monitor's whole day again for every chunk that
adds to it. A late post adds to its old hour and day like any other. A monitor that is created
or edited has its cells rebuilt from its links (`rebuild`, after the backfill); the rebuild and
the consumer take the cursor row first, so each counts exactly the links the other did not.
Posts deleted later (by their author, or by retention) stay counted: the cells hold counts
only, no personal data (docs/rollups.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import msgspec
import sqlalchemy as sa

from stadspuls.consumers import Start
from stadspuls.records import Post
from stadspuls.store import rollups as store
from stadspuls.store.monitors import links_for
from stadspuls.store.rows import to_us

log = logging.getLogger(__name__)

NAME = "rollup"
HOUR_US = 3_600_000_000
DAY_US = 86_400_000_000
FACET_KINDS = ("type", "tag", "place", "lang", "source")
_VALUE_LENGTH = 200  # monitor_facets.value
_STATE = b"1"  # any state: None at `load` means the cells were never built


class _Code(msgspec.Struct):
    code: str


_tags_decode = msgspec.json.Decoder(list[str]).decode
_codes_decode = msgspec.json.Decoder(list[_Code]).decode


def facet_values(
    source: str,
    lang: str | None,
    incident_type: str | None,
    tags: Iterable[str],
    place_codes: Iterable[str],
) -> set[tuple[str, str]]:
    """The (kind, value) pairs a post counts for; each once, however often it names them."""
    values = {("source", source[:_VALUE_LENGTH])}
    if lang:
        values.add(("lang", lang))
    if incident_type:
        values.add(("type", incident_type))
    values.update(("tag", tag.lower()[:_VALUE_LENGTH]) for tag in tags if tag)
    values.update(("place", code) for code in place_codes)
    return values


def values_of_post(post: Post) -> set[tuple[str, str]]:
    return facet_values(
        post.source, post.lang, post.incident_type, post.hashtags, (p.code for p in post.places)
    )


def values_of_row(row: store.Linked) -> set[tuple[str, str]]:
    tags = _tags_decode(row.hashtags) if row.hashtags else ()
    codes = (p.code for p in _codes_decode(row.places)) if row.places else ()
    return facet_values(row.source, row.lang, row.incident_type, tags, codes)


class Cell:
    """The counts of one cell, with the authors seen in it (`known`: counted before)."""

    __slots__ = ("authors", "known", "last_us", "negative", "neutral", "positive", "posts")

    def __init__(self) -> None:
        self.posts = self.negative = self.neutral = self.positive = self.last_us = 0
        self.authors: set[str] = set()
        self.known: set[str] = set()

    def add(self, created_us: int, author: str | None, sentiment: str | None) -> None:
        self.posts += 1
        if author is not None:
            self.authors.add(author)
        if sentiment == "negative":
            self.negative += 1
        elif sentiment == "neutral":
            self.neutral += 1
        elif sentiment == "positive":
            self.positive += 1
        self.last_us = max(self.last_us, created_us)

    @property
    def new_authors(self) -> int:
        return len(self.authors - self.known)


class Tally:
    """Counts per (monitor, hour) and per (monitor, day, kind, value)."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[int, int], Cell] = {}
        self.facets: dict[tuple[int, int, str, str], Cell] = {}
        # (monitor, day, author) of what was added: a post counted before matters only there.
        self.members: set[tuple[int, int, str]] = set()

    def add(
        self,
        monitor_id: int,
        created_us: int,
        author: str | None,
        sentiment: str | None,
        values: Iterable[tuple[str, str]],
    ) -> None:
        hour = created_us - created_us % HOUR_US
        day = created_us - created_us % DAY_US
        bucket = self.buckets.get((monitor_id, hour))
        if bucket is None:
            bucket = self.buckets[monitor_id, hour] = Cell()
        bucket.add(created_us, author, sentiment)
        if author is not None:
            self.members.add((monitor_id, day, author))
        for kind, value in values:
            facet = self.facets.get((monitor_id, day, kind, value))
            if facet is None:
                facet = self.facets[monitor_id, day, kind, value] = Cell()
            facet.add(created_us, author, sentiment)

    def seen(self, row: store.Linked) -> None:
        """`row` was counted before: its author is not new in the cells it shares with us."""
        if row.author_key is None:
            return
        day = row.created_us - row.created_us % DAY_US
        if (row.monitor_id, day, row.author_key) not in self.members:
            return
        hour = row.created_us - row.created_us % HOUR_US
        bucket = self.buckets.get((row.monitor_id, hour))
        if bucket is not None:
            bucket.known.add(row.author_key)
        for kind, value in values_of_row(row):
            facet = self.facets.get((row.monitor_id, day, kind, value))
            if facet is not None:
                facet.known.add(row.author_key)

    def bucket_rows(self) -> list[dict[str, int]]:
        return [
            {"monitor_id": m, "start_us": hour, "posts": c.posts, "authors": c.new_authors,
             "negative": c.negative, "neutral": c.neutral, "positive": c.positive,
             "last_us": c.last_us}
            for (m, hour), c in self.buckets.items()
        ]  # fmt: skip

    def facet_rows(self) -> list[dict[str, int | str]]:
        return [
            {"monitor_id": m, "day_us": day, "kind": kind, "value": value, "posts": c.posts,
             "authors": c.new_authors, "negative": c.negative}
            for (m, day, kind, value), c in self.facets.items()
        ]  # fmt: skip


def rebuild(engine: sa.Engine, monitor_id: int | None = None) -> int:
    """Recompute a monitor's cells (every monitor's: None) from its links, up to the rollup's
    cursor (posts after it are the consumer's); the number of posts counted. Idempotent."""
    with engine.connect() as conn:
        ids = [monitor_id] if monitor_id is not None else store.monitor_ids(conn)
    if monitor_id is None:
        with engine.begin() as conn:
            store.lock_cursor(conn, NAME)
            store.clear(conn, None)  # cells of monitors removed behind the store's back
    counted = 0
    for one in ids:
        with engine.begin() as conn:
            upto = store.lock_cursor(conn, NAME)
            store.clear(conn, one)
            tally = Tally()
            for row in store.linked(conn, monitor_ids=[one], upto_pk=upto):
                tally.add(
                    row.monitor_id, row.created_us, row.author_key, row.sentiment,
                    values_of_row(row),
                )  # fmt: skip
                counted += 1
            store.insert(conn, tally.bucket_rows(), tally.facet_rows())
    return counted


class RollupConsumer:
    """The consumer "rollup" (see the module's docstring)."""

    name = NAME
    upstream: str | None = "linker"
    # Every stored post is counted, also where the consumers start at the newest post (an
    # upgrade that adds the rollup to a filled store counts the archive in the background).
    start: Start = "beginning"

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def load(self, state: bytes | None) -> None:
        if state is None:
            # No chunk was ever committed: the cursor is at its start, and cells left from
            # before (a removed cursor) would be counted twice.
            with self.engine.begin() as conn:
                store.lock_cursor(conn, NAME)
                store.clear(conn, None)

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> bytes:
        store.lock_cursor(conn, NAME)
        links = links_for(conn, [pk for pk, _ in rows])
        if not links:
            return _STATE
        tally = Tally()
        authors: set[str] = set()
        for pk, post in rows:
            found = links.get(pk)
            if not found:
                continue
            created_us, values = to_us(post.created_at), values_of_post(post)
            for monitor_id in found:
                tally.add(monitor_id, created_us, post.author_key, post.sentiment, values)
            if post.author_key is not None:
                authors.add(post.author_key)
        if authors:
            days = [day for _, day, _, _ in tally.facets]
            for row in store.prior(
                conn,
                authors=sorted(authors),
                monitor_ids=sorted({m for m, _ in tally.buckets}),
                since_us=min(days),
                until_us=max(days) + DAY_US,
                below_pk=rows[0][0],
            ):
                tally.seen(row)
        store.add(conn, tally.bucket_rows(), tally.facet_rows())
        return _STATE
