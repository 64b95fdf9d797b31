"""Retention: delete posts older than every retention period that covers them.

Three kinds of period cover a post, and the longest one that covers it wins:
- each monitor that matched it: its `retention_days` from the post's creation;
- the file import that stored it: its `retention_days` from the start of the import (an import
  of last year's posts keeps them for its period, it does not lose them on arrival);
- the archive's default period, from the post's creation, only for posts that neither a monitor
  nor an import covers.
Deletion goes through the writer (so the full-text index follows), leaves no tombstone (a later
import for a new purpose may store the post again), and is logged as counts per reason, never
contents. `plan_retention` counts what a run would delete without deleting anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from stadspuls.records import utcnow
from stadspuls.store.imports import DAY_US, keep_until_us
from stadspuls.store.rows import to_us
from stadspuls.store.schema import imports, monitor_posts, monitors, posts, retention_log
from stadspuls.store.writer import PostWriter

log = logging.getLogger(__name__)

REASONS = ("unmatched", "expired", "imported")


@dataclass(frozen=True)
class RetentionResult:
    unmatched: int  # posts neither a monitor nor an import covers, older than the default period
    expired: int  # posts older than the longest period of the monitors that matched them
    imported: int = 0  # imported posts past their import's period and every monitor's

    @property
    def total(self) -> int:
        return self.unmatched + self.expired + self.imported

    def describe(self, default_days: int) -> str:
        return (
            f"{self.unmatched} matched by no monitor and imported by no import, older than"
            f" {default_days} days; {self.expired} past their monitors' periods;"
            f" {self.imported} imported, past their import's period and every monitor's"
        )


def _expired_queries(default_days: int, now: datetime) -> dict[str, sa.Select[Any]]:
    now_us = sa.literal(to_us(now), sa.BigInteger())
    day_us = sa.literal(DAY_US, sa.BigInteger())
    linked = sa.select(monitor_posts.c.post_pk).where(monitor_posts.c.post_pk == posts.c.pk)
    longest = (
        sa.select(sa.func.max(monitors.c.retention_days))
        .select_from(monitor_posts.join(monitors, monitors.c.id == monitor_posts.c.monitor_id))
        .where(monitor_posts.c.post_pk == posts.c.pk)
        .scalar_subquery()
    )
    monitors_passed = sa.or_(~linked.exists(), posts.c.created_us < now_us - longest * day_us)
    # A post whose import row is missing counts as uncovered by it rather than kept forever.
    import_end = (
        sa.select(keep_until_us(imports)).where(imports.c.id == posts.c.import_id).scalar_subquery()
    )
    not_imported = posts.c.import_id.is_(None)
    return {
        "unmatched": sa.select(posts.c.id).where(
            not_imported,
            posts.c.created_us < now_us - default_days * day_us,
            ~linked.exists(),
        ),
        "expired": sa.select(posts.c.id).where(
            not_imported, linked.exists(), posts.c.created_us < now_us - longest * day_us
        ),
        "imported": sa.select(posts.c.id).where(
            ~not_imported, sa.func.coalesce(import_end, 0) <= now_us, monitors_passed
        ),
    }


def plan_retention(
    engine: sa.Engine, *, default_days: int, now: datetime | None = None
) -> RetentionResult:
    """What `apply_retention` would delete now, counted per reason; deletes nothing."""
    queries = _expired_queries(default_days, now or utcnow())
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for reason, query in queries.items():
            counted = sa.select(sa.func.count()).select_from(query.subquery())
            counts[reason] = int(conn.execute(counted).scalar_one())
    return RetentionResult(**counts)


def apply_retention(
    engine: sa.Engine, *, default_days: int, now: datetime | None = None, chunk: int = 5000
) -> RetentionResult:
    now = now or utcnow()
    queries = _expired_queries(default_days, now)
    counts = dict.fromkeys(REASONS, 0)
    with PostWriter(engine) as writer:
        for reason, query in queries.items():
            while True:
                with engine.connect() as conn:
                    ids: list[str] = list(conn.scalars(query.limit(chunk)))
                if not ids:
                    break
                counts[reason] += writer.expire(ids)
    result = RetentionResult(**counts)
    with engine.begin() as conn:
        conn.execute(
            retention_log.insert().values(
                run_us=to_us(now),
                deleted_posts=result.total,
                details=json.dumps({**counts, "default_days": default_days}),
            )
        )
    log.info("retention: deleted %d posts: %s", result.total, result.describe(default_days))
    return result


def retention_history(
    engine: sa.Engine, limit: int = 20
) -> list[tuple[datetime, int, dict[str, int]]]:
    from stadspuls.store.rows import from_us

    query = sa.select(retention_log).order_by(retention_log.c.run_us.desc()).limit(limit)
    with engine.connect() as conn:
        return [
            (from_us(row.run_us), int(row.deleted_posts), json.loads(row.details))
            for row in conn.execute(query)
        ]


__all__ = ["RetentionResult", "apply_retention", "plan_retention", "retention_history"]
