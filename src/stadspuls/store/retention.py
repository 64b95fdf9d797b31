"""Retention: delete posts older than every retention period that covers them.

A post matched by monitors is covered by those monitors' retention periods (the longest one
wins); a post no monitor matched is covered by the archive's default period. Deletion goes
through the writer (so the full-text index follows) and is logged as counts, never contents.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from stadspuls.records import Deletion, utcnow
from stadspuls.store.rows import to_us
from stadspuls.store.schema import monitor_posts, monitors, posts, retention_log
from stadspuls.store.writer import Batch, PostWriter

log = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class RetentionResult:
    unmatched: int  # posts no monitor covers, older than the default period
    expired: int  # posts older than the longest period of the monitors that matched them

    @property
    def total(self) -> int:
        return self.unmatched + self.expired


def expired_ids(
    engine: sa.Engine, *, default_days: int, now: datetime, limit: int
) -> tuple[list[str], list[str]]:
    now_us = sa.literal(to_us(now), sa.BigInteger())
    day_us = sa.literal(DAY_US, sa.BigInteger())
    linked = sa.select(monitor_posts.c.post_pk).where(monitor_posts.c.post_pk == posts.c.pk)
    unmatched = (
        sa.select(posts.c.id)
        .where(posts.c.created_us < now_us - default_days * day_us, ~linked.exists())
        .limit(limit)
    )
    longest = (
        sa.select(sa.func.max(monitors.c.retention_days))
        .select_from(monitor_posts.join(monitors, monitors.c.id == monitor_posts.c.monitor_id))
        .where(monitor_posts.c.post_pk == posts.c.pk)
        .scalar_subquery()
    )
    expired = (
        sa.select(posts.c.id)
        .where(linked.exists(), posts.c.created_us < now_us - longest * day_us)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(unmatched)], [r[0] for r in conn.execute(expired)]


def apply_retention(
    engine: sa.Engine, *, default_days: int, now: datetime | None = None, chunk: int = 5000
) -> RetentionResult:
    now = now or utcnow()
    unmatched_total = expired_total = 0
    with PostWriter(engine) as writer:
        while True:
            unmatched, expired = expired_ids(
                engine, default_days=default_days, now=now, limit=chunk
            )
            if not unmatched and not expired:
                break
            deletions = [Deletion(post_id, now) for post_id in (*unmatched, *expired)]
            writer.write(Batch(deletions=deletions))
            unmatched_total += len(unmatched)
            expired_total += len(expired)
    result = RetentionResult(unmatched=unmatched_total, expired=expired_total)
    with engine.begin() as conn:
        conn.execute(
            retention_log.insert().values(
                run_us=to_us(now),
                deleted_posts=result.total,
                details=json.dumps(
                    {
                        "unmatched": result.unmatched,
                        "expired": result.expired,
                        "default_days": default_days,
                    }
                ),
            )
        )
    log.info(
        "retention: deleted %d posts (%d unmatched older than %d days, %d past their"
        " monitors' periods)",
        result.total,
        result.unmatched,
        default_days,
        result.expired,
    )
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


__all__ = ["RetentionResult", "apply_retention", "retention_history"]
