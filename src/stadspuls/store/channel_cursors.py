"""Where each of the organisation's own channels (e-mail, Mastodon, Bluesky) resumes: one row
per channel in the `cursors` table, under the stream name "inbox:<channel>"."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from stadspuls.store.schema import cursors


def stream_name(channel: str) -> str:
    return f"inbox:{channel}"


def load(engine: sa.Engine, channel: str) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(cursors.c.cursor).where(cursors.c.stream == stream_name(channel))
        ).scalar_one_or_none()
    return None if found is None else str(found)


def save(engine: sa.Engine, channel: str, cursor: str) -> None:
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
    statement = insert(cursors).values(
        stream=stream_name(channel), cursor=cursor, updated_us=int(time.time() * 1_000_000)
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[cursors.c.stream],
        set_={"cursor": statement.excluded.cursor, "updated_us": statement.excluded.updated_us},
    )
    with engine.begin() as conn:
        conn.execute(upsert)
