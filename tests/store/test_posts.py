from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
import sqlalchemy as sa

from stadspuls.enrich.pseudonymise import Pseudonymiser
from stadspuls.records import Checkpoint, Deletion, Place
from stadspuls.sealed import Sealer
from stadspuls.store.posts import (
    count_all,
    get_post,
    list_posts,
    load_counters,
    load_cursors,
    volume,
)
from stadspuls.store.rows import UnpseudonymisedPost
from stadspuls.store.writer import Batch, PostWriter
from tests.factories import T0, make_post

PSEUDO = Pseudonymiser(b"k" * 32, Sealer(b"s" * 32))
KEYED = PSEUDO.post_id


def stored(n: int, text: str | None = None, **fields: object):  # type: ignore[no-untyped-def]
    (post,) = PSEUDO([make_post(n, text, **fields)])
    return post


def test_round_trip_keeps_every_field(engine: sa.Engine) -> None:
    place = Place(
        code="GM0796", name="Den Bosch", municipality="'s-Hertogenbosch", lat=51.69, lon=5.3
    )
    post = msgspec.structs.replace(
        stored(1, "Brand bij de Markt #brand", hashtags=("brand",), links=("https://a.nl",)),
        lang="nl",
        lang_declared="nl",
        lang_score=0.98,
        sentiment="negative",
        sentiment_score=0.8,
        places=(place,),
        simhash=-(2**62),
        content_hash="abcd",
        lat=51.7,
        lon=5.3,
        meta={"service": "brandweer", "capcodes": ["1521001", "1521002"]},
    )
    with PostWriter(engine) as writer:
        result = writer.write(Batch(posts=[post]))
    assert result.inserted == 1
    back = get_post(engine, post.id)
    assert back is not None
    assert back.collected_at is not None
    assert msgspec.structs.replace(back, collected_at=None) == post


def test_ids_are_stored_once_and_cursor_commits_with_posts(engine: sa.Engine) -> None:
    with PostWriter(engine) as writer:
        batch = Batch()
        for n in (1, 2, 2):
            batch.add(stored(n))
        batch.add(Checkpoint("jetstream", "100"))
        batch.count("test", "received", 3)
        first = writer.write(batch)
        again = Batch(posts=[stored(2), stored(3)], checkpoints={"jetstream": "200"})
        again.count("test", "received", 2)
        second = writer.write(again)
    assert (first.inserted, first.already_stored) == (2, 1)
    assert (second.inserted, second.already_stored, second.inserted_ids) == (
        1,
        1,
        (KEYED("test:3"),),
    )
    assert count_all(engine) == 3
    assert load_cursors(engine) == {"jetstream": "200"}
    assert load_counters(engine) == {"test": {"received": 5, "stored": 3}}


def test_a_failed_batch_leaves_nothing_behind(engine: sa.Engine) -> None:
    with PostWriter(engine) as writer:
        bad = Batch(posts=[stored(1), make_post(2)], checkpoints={"jetstream": "5"})
        with pytest.raises(UnpseudonymisedPost):
            writer.write(bad)
        assert count_all(engine) == 0
        assert load_cursors(engine) == {}
        writer.write(Batch(posts=[stored(3)]))  # the writer is still usable
    assert count_all(engine) == 1


def test_deletion_removes_post_and_its_index_entry(engine: sa.Engine) -> None:
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[stored(1, "rook boven Lochem"), stored(2, "rook bij Deventer")]))
        deletions = PSEUDO.deletions([Deletion("test:1", T0), Deletion("test:404", T0)])
        result = writer.write(Batch(deletions=deletions))
    assert result.deleted == 1
    assert get_post(engine, KEYED("test:1")) is None
    if engine.dialect.name == "sqlite":
        query = "SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'rook'"
    else:
        query = "SELECT pk FROM posts WHERE tsv @@ to_tsquery('simple', 'rook')"
    with engine.connect() as conn:
        assert len(conn.execute(sa.text(query)).all()) == 1


def test_list_filters_and_volume(engine: sa.Engine) -> None:
    posts = [
        stored(n, source="bluesky" if n % 2 else "rss", lang="nl" if n < 60 else "en")
        for n in range(120)
    ]
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=posts))
    newest = list_posts(engine, limit=3)
    assert [p.id for p in newest] == [KEYED(f"test:{n}") for n in (119, 118, 117)]
    assert count_all(engine, sources=["bluesky"]) == 60
    assert count_all(engine, lang="en", since=T0 + timedelta(minutes=100)) == 20
    assert [p.id for p in list_posts(engine, sources=["rss"], limit=2, offset=1)] == [
        KEYED("test:116"),
        KEYED("test:114"),
    ]
    hours = volume(engine, bucket_seconds=3600)
    assert hours == [(T0, 60), (T0 + timedelta(hours=1), 60)]
    assert volume(engine, bucket_seconds=3600, lang="en") == [(T0 + timedelta(hours=1), 60)]


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "bluesky:did:plc:4hqjfn7m6n5hno3doamuhgef/3lbqz2a7ywk2c"},
        {"reply_to": "mastodon:mastodon.nl/users/anna/statuses/1"},
        {"repost_of": "twitter:@demo"},
        {"duplicate_of": "bluesky:did:web:example.org/1"},
        {"url": "https://x.com/demo/status/1"},
        {"links": ("sealed1:abc", "https://nos.nl/a")},
        {"media": ("https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:abc/bafk@jpeg",)},
    ],
)
def test_the_writer_refuses_what_did_not_pass_the_door(
    engine: sa.Engine, fields: dict[str, object]
) -> None:
    raw = msgspec.structs.replace(stored(1), **fields)
    with PostWriter(engine) as writer, pytest.raises(UnpseudonymisedPost) as refused:
        writer.write(Batch(posts=[stored(2), raw]))
    assert "did:" not in str(refused.value)
    assert "anna" not in str(refused.value)
    assert count_all(engine) == 0


def test_the_writer_refuses_a_deletion_by_platform_id(engine: sa.Engine) -> None:
    raw = Deletion("bluesky:did:plc:4hqjfn7m6n5hno3doamuhgef/3lbqz2a7ywk2c", T0)
    with PostWriter(engine) as writer, pytest.raises(UnpseudonymisedPost):
        writer.write(Batch(posts=[stored(1)], deletions=[raw]))
    assert count_all(engine) == 0
