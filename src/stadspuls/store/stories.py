"""Stories (clusters of similar posts in a monitor's stream) and the posts they hold.

The story detector reports each story it created or changed; `save_stories` upserts them by
(monitor, key) and links the posts that are still stored. Reads serve the API and dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from stadspuls.records import Story
from stadspuls.store.monitors import pks_for_ids
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import posts, stories, story_posts

MAX_POST_IDS = 50  # ids read back per story: the first ones, in time order


def _dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (both have ON CONFLICT, SQLAlchemy's core insert has not)."""
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    return insert(table)


def _json(values: Sequence[str]) -> str | None:
    return json.dumps(list(values), ensure_ascii=False) if values else None


def save_stories(conn: sa.Connection, items: Sequence[Story]) -> None:
    """Upsert `items` by (monitor_id, key) and link their posts; ids no longer stored are left
    out (deleted, or expired by retention)."""
    if not items:
        return
    pks = pks_for_ids(conn, sorted({i for story in items for i in story.post_ids}))
    links: list[dict[str, int]] = []
    for story in items:
        values = {
            "first_us": to_us(story.first_at),
            "last_us": to_us(story.last_at),
            "posts": story.posts,
            "authors": story.authors,
            "top_terms": _json(story.top_terms),
            "places": _json(story.places),
            "incident_type": story.incident_type,
            "rumour_score": story.rumour_score,
        }
        insert = _dialect_insert(conn, stories).values(
            monitor_id=story.monitor_id, key=story.key, **values
        )
        statement = insert.on_conflict_do_update(
            index_elements=[stories.c.monitor_id, stories.c.key], set_=values
        ).returning(stories.c.id)
        story_id = int(conn.execute(statement).scalar_one())
        links.extend(
            {"story_id": story_id, "post_pk": pks[i][0]} for i in story.post_ids if i in pks
        )
    if links:
        conn.execute(_dialect_insert(conn, story_posts).on_conflict_do_nothing(), links)


def _post_ids(conn: sa.Connection, story_ids: Sequence[int]) -> dict[int, list[str]]:
    """story id -> the ids of its stored posts, oldest first, at most MAX_POST_IDS each."""
    out: dict[int, list[str]] = {story_id: [] for story_id in story_ids}
    if not story_ids:
        return out
    query = (
        sa.select(story_posts.c.story_id, posts.c.id)
        .join(posts, story_posts.c.post_pk == posts.c.pk)
        .where(story_posts.c.story_id.in_(list(story_ids)))
        .order_by(story_posts.c.story_id, posts.c.created_us, posts.c.pk)
    )
    for story_id, post_id in conn.execute(query):
        ids = out[int(story_id)]
        if len(ids) < MAX_POST_IDS:
            ids.append(post_id)
    return out


def _stories(conn: sa.Connection, query: sa.Select[Any]) -> list[Story]:
    rows = list(conn.execute(query).mappings())
    ids = _post_ids(conn, [int(row["id"]) for row in rows])
    return [_story(row, ids[int(row["id"])]) for row in rows]


def _story(row: sa.RowMapping, ids: Sequence[str]) -> Story:
    return Story(
        monitor_id=int(row["monitor_id"]),
        key=row["key"],
        first_at=from_us(row["first_us"]),
        last_at=from_us(row["last_us"]),
        posts=int(row["posts"]),
        authors=int(row["authors"]),
        top_terms=tuple(json.loads(row["top_terms"])) if row["top_terms"] else (),
        places=tuple(json.loads(row["places"])) if row["places"] else (),
        incident_type=row["incident_type"],
        rumour_score=row["rumour_score"],
        post_ids=tuple(ids),
    )


def list_stories(
    engine: sa.Engine, monitor_id: int, *, since: datetime | None = None, limit: int = 50
) -> list[Story]:
    """A monitor's stories, the most recently active first; `since` keeps those active since."""
    query = sa.select(stories).where(stories.c.monitor_id == monitor_id)
    if since is not None:
        query = query.where(stories.c.last_us >= to_us(since))
    query = query.order_by(stories.c.last_us.desc(), stories.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return _stories(conn, query)


def get_story(engine: sa.Engine, monitor_id: int, key: str) -> Story | None:
    query = sa.select(stories).where(stories.c.monitor_id == monitor_id, stories.c.key == key)
    with engine.connect() as conn:
        found = _stories(conn, query)
    return found[0] if found else None
