"""The writer under deletions and imports: what is deleted stays deleted, counters count once."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from stadspuls.enrich.pseudonymise import Pseudonymiser
from stadspuls.records import Deletion, Post
from stadspuls.store.imports import start_import
from stadspuls.store.posts import count_all, get_post, load_counters
from stadspuls.store.schema import posts, tombstones
from stadspuls.store.writer import Batch, PostWriter
from tests.factories import T0, make_post

PSEUDO = Pseudonymiser(b"k" * 32)


def sid(n: int) -> str:
    """The stored (keyed) id of `make_post(n)`."""
    return PSEUDO.post_id(f"test:{n}")


def stored(n: int, text: str | None = None) -> Post:
    (post,) = PSEUDO([make_post(n, text)])
    return post


def _tombstones(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {row.id: row.deleted_us for row in conn.execute(sa.select(tombstones))}


def _import_ids(engine: sa.Engine) -> dict[str, int | None]:
    with engine.connect() as conn:
        return {r.id: r.import_id for r in conn.execute(sa.select(posts.c.id, posts.c.import_id))}


def test_a_deleted_post_is_never_stored_again(engine: sa.Engine) -> None:
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[stored(n) for n in range(1, 5)]))
        deleted = writer.write(Batch(deletions=[Deletion(sid(1), T0), Deletion(sid(2), T0)]))
        assert deleted.deleted == 2
        # Re-importing the older file: the deleted posts must not come back.
        again = writer.write(Batch(posts=[stored(n) for n in range(1, 5)]))
    assert (again.inserted, again.already_stored, again.tombstoned) == (0, 2, 2)
    assert get_post(engine, sid(1)) is None
    assert count_all(engine) == 2
    assert set(_tombstones(engine)) == {sid(1), sid(2)}
    assert load_counters(engine)["test"] == {"stored": 4, "tombstoned": 2}


def test_a_deletion_that_arrives_before_its_post_wins(engine: sa.Engine) -> None:
    with PostWriter(engine) as writer:
        early = writer.write(Batch(deletions=[Deletion(sid(7), T0)]))
        assert early.deleted == 0
        late = writer.write(Batch(posts=[stored(7), stored(8)]))
        # The same batch carrying a post and its deletion stores nothing of it either.
        same = writer.write(Batch(posts=[stored(9)], deletions=[Deletion(sid(9), T0)]))
    assert (late.inserted, late.tombstoned, late.inserted_ids) == (1, 1, (sid(8),))
    assert (same.inserted, same.tombstoned) == (0, 1)
    assert get_post(engine, sid(7)) is None
    assert get_post(engine, sid(9)) is None


def test_tombstones_keep_only_id_and_first_deletion_time(engine: sa.Engine) -> None:
    later = T0 + timedelta(hours=1)
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[stored(1)]))
        writer.write(Batch(deletions=[Deletion(sid(1), T0), Deletion(sid(1), later)]))
        writer.write(Batch(deletions=[Deletion(sid(1), later)]))
    with engine.connect() as conn:
        columns = list(conn.execute(sa.select(tombstones)).keys())
    assert columns == ["id", "deleted_us"]
    assert _tombstones(engine) == {sid(1): int(T0.timestamp() * 1_000_000)}


def test_expiry_deletes_without_a_tombstone(engine: sa.Engine) -> None:
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[stored(1), stored(2)]))
        assert writer.expire([sid(1), sid(404)]) == 1
        back = writer.write(Batch(posts=[stored(1)]))
    assert back.inserted == 1
    assert _tombstones(engine) == {}


def test_posts_point_to_their_import_and_a_longer_import_adopts_stored_posts(
    engine: sa.Engine,
) -> None:
    short = start_import(
        engine, owner="o", purpose="p", legal_basis="public-task", retention_days=10
    )
    longer = start_import(
        engine, owner="o", purpose="q", legal_basis="public-task", retention_days=400
    )
    shorter_again = start_import(
        engine, owner="o", purpose="r", legal_basis="public-task", retention_days=5
    )
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[stored(0)]))  # collected live: no import
        writer.write(Batch(posts=[stored(1), stored(2)], import_id=short.id))
        writer.write(Batch(posts=[stored(0), stored(2), stored(3)], import_id=longer.id))
        writer.write(Batch(posts=[stored(3), stored(4)], import_id=shorter_again.id))
    assert _import_ids(engine) == {
        sid(0): longer.id,  # adopted: live posts were covered by no import
        sid(1): short.id,
        sid(2): longer.id,  # adopted: the longer period wins
        sid(3): longer.id,  # kept: a shorter import does not shorten it
        sid(4): shorter_again.id,
    }
