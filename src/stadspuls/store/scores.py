"""Rescoring stored posts: the accurate stage rewrites the enrichment columns of posts that
matched a monitor (stadspuls.enrich.rescoring), in the transaction that moves its cursor."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from stadspuls.records import Post
from stadspuls.store.rows import SCORE_COLUMNS, score_values
from stadspuls.store.schema import posts

_UPDATE = (
    posts.update()
    .where(posts.c.pk == sa.bindparam("b_pk"))
    .values({name: sa.bindparam(f"b_{name}") for name in SCORE_COLUMNS})
)
_MARK = (
    posts.update()
    .where(posts.c.pk == sa.bindparam("b_pk"))
    .values(scored_by=sa.bindparam("b_scored_by"))
)


def update_scores(conn: sa.Connection, scored: Sequence[tuple[int, Post]]) -> None:
    """Store the score columns of each (pk, post); the other columns stay as they are."""
    if scored:
        params = [
            {"b_pk": pk, **{f"b_{k}": v for k, v in score_values(post).items()}}
            for pk, post in scored
        ]
        conn.execute(_UPDATE, params)


def mark_scored_by(conn: sa.Connection, pks: Sequence[int], stage: str) -> None:
    """Record which stage's scores the posts `pks` keep (e.g. "fast" for posts skipped)."""
    if pks:
        conn.execute(_MARK, [{"b_pk": pk, "b_scored_by": stage} for pk in pks])


def collected_us_at(conn: sa.Connection, upto_pk: int) -> int | None:
    """When the newest post at or below `upto_pk` arrived (µs), None when there is none."""
    query = (
        sa.select(posts.c.collected_us)
        .where(posts.c.pk <= upto_pk)
        .order_by(posts.c.pk.desc())
        .limit(1)
    )
    value = conn.execute(query).scalar()
    return None if value is None else int(value)


__all__ = ["collected_us_at", "mark_scored_by", "update_scores"]
