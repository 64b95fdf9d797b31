"""Stories in the store: upserted by (monitor, key), linked to the posts still stored, read back
for the API; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import sqlalchemy as sa

from stadspuls.enrich.pseudonymise import Pseudonymiser
from stadspuls.records import Monitor, Post, Story
from stadspuls.sealed import Sealer
from stadspuls.store.monitors import delete_monitor, insert_monitor
from stadspuls.store.schema import story_posts
from stadspuls.store.stories import get_story, list_stories, save_stories
from stadspuls.store.writer import Batch, PostWriter
from tests.factories import T0, make_post

PSEUDO = Pseudonymiser(b"k" * 32, Sealer(b"s" * 32))


def setup(engine: sa.Engine, n: int = 4) -> tuple[int, list[Post]]:
    monitor = insert_monitor(
        engine,
        Monitor(
            name="stratumseind", query="stratumseind", owner="test", purpose="test",
            legal_basis="public-task", retention_days=30,
        ),
    )  # fmt: skip
    posts = PSEUDO([make_post(i) for i in range(n)])
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=list(posts)))
    assert monitor.id is not None
    return monitor.id, list(posts)


def story(monitor_id: int, posts: list[Post], **fields: object) -> Story:
    values: dict[str, object] = {
        "monitor_id": monitor_id,
        "key": "3f9c0a1b2c3d4e5f",
        "first_at": posts[0].created_at,
        "last_at": posts[-1].created_at,
        "posts": len(posts),
        "authors": 2,
        "top_terms": ("brand", "kroeg"),
        "places": ("Eindhoven",),
        "incident_type": "fire",
        "rumour_score": 0.25,
        "post_ids": tuple(p.id for p in posts),
    }
    values.update(fields)
    return Story(**values)  # type: ignore[arg-type]


def test_save_and_read_back(engine: sa.Engine) -> None:
    monitor_id, posts = setup(engine)
    saved = story(monitor_id, posts[:2])
    with engine.begin() as conn:
        save_stories(conn, [saved])
    assert get_story(engine, monitor_id, saved.key) == saved
    assert list_stories(engine, monitor_id) == [saved]
    assert get_story(engine, monitor_id, "nope") is None
    assert list_stories(engine, monitor_id + 1) == []


def test_a_changed_story_is_updated_and_gains_posts(engine: sa.Engine) -> None:
    monitor_id, posts = setup(engine)
    with engine.begin() as conn:
        save_stories(conn, [story(monitor_id, posts[:2])])
    grown = story(monitor_id, posts, authors=4, top_terms=("brand",), incident_type=None)
    with engine.begin() as conn:
        save_stories(conn, [grown])
    assert list_stories(engine, monitor_id) == [grown]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(story_posts)).scalar() == 4


def test_ids_no_longer_stored_are_left_out(engine: sa.Engine) -> None:
    monitor_id, posts = setup(engine)
    saved = story(monitor_id, posts, post_ids=(posts[0].id, "bluesky:0badc0ffee"))
    with engine.begin() as conn:
        save_stories(conn, [saved])
    back = get_story(engine, monitor_id, saved.key)
    assert back == msgspec.structs.replace(saved, post_ids=(posts[0].id,))


def test_listing_is_newest_first_limited_and_filtered_by_activity(engine: sa.Engine) -> None:
    monitor_id, posts = setup(engine)
    stories = [
        story(
            monitor_id, posts[i : i + 1], key=f"k{i}", first_at=T0 + timedelta(hours=i),
            last_at=T0 + timedelta(hours=i, minutes=30), rumour_score=None, top_terms=(),
            places=(),
        )
        for i in range(4)
    ]  # fmt: skip
    with engine.begin() as conn:
        save_stories(conn, stories)
    assert [s.key for s in list_stories(engine, monitor_id)] == ["k3", "k2", "k1", "k0"]
    assert [s.key for s in list_stories(engine, monitor_id, limit=2)] == ["k3", "k2"]
    since = T0 + timedelta(hours=2)
    assert [s.key for s in list_stories(engine, monitor_id, since=since)] == ["k3", "k2"]
    assert list_stories(engine, monitor_id)[0].rumour_score is None


def test_stories_go_with_their_monitor(engine: sa.Engine) -> None:
    monitor_id, posts = setup(engine)
    with engine.begin() as conn:
        save_stories(conn, [story(monitor_id, posts)])
        save_stories(conn, [])
    assert delete_monitor(engine, monitor_id)
    assert list_stories(engine, monitor_id) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(story_posts)).scalar() == 0


def test_read_back_post_ids_are_the_oldest_fifty(engine: sa.Engine) -> None:
    monitor_id, posts = setup(engine, 55)
    big = story(monitor_id, posts, key="big")
    small = story(monitor_id, posts[:3], key="small", last_at=posts[-1].created_at)
    with engine.begin() as conn:
        save_stories(conn, [big, small])
    back = {s.key: s for s in list_stories(engine, monitor_id)}
    assert back["big"].post_ids == tuple(p.id for p in posts[:50])
    assert back["small"].post_ids == tuple(p.id for p in posts[:3])
