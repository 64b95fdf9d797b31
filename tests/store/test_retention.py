"""Retention: imports keep their posts for the import's period; monitors and the default too."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import sqlalchemy as sa

from stadspuls import monitors
from stadspuls.enrich.pseudonymise import Pseudonymiser
from stadspuls.records import Monitor, Post
from stadspuls.store.imports import start_import
from stadspuls.store.posts import count_all, get_post
from stadspuls.store.retention import apply_retention, plan_retention, retention_history
from stadspuls.store.schema import tombstones
from stadspuls.store.writer import Batch, PostWriter
from tests.factories import T0, make_post

PSEUDO = Pseudonymiser(b"k" * 32)


def sid(n: int) -> str:
    """The stored (keyed) id of `make_post(n)`."""
    return PSEUDO.post_id(f"test:{n}")


def _post(n: int, age_days: float, text: str = "bericht over Stratumseind") -> Post:
    (post,) = PSEUDO([make_post(n, text)])
    return msgspec.structs.replace(post, created_at=T0 - timedelta(days=age_days))


def _import(engine: sa.Engine, days: int) -> int:
    found = start_import(
        engine,
        owner="analyst",
        purpose="evaluation of the new year's eve",
        legal_basis="public-task",
        retention_days=days,
        started_at=T0,
    )
    return found.id


def test_an_import_keeps_old_posts_for_its_period_from_the_import(engine: sa.Engine) -> None:
    import_id = _import(engine, days=90)
    with PostWriter(engine) as writer:
        # A year-old export, imported at T0, next to live posts older than the default period.
        writer.write(Batch(posts=[_post(n, age_days=400) for n in range(10)], import_id=import_id))
        writer.write(Batch(posts=[_post(n, age_days=40) for n in range(10, 15)]))
    soon = apply_retention(engine, default_days=30, now=T0 + timedelta(days=1))
    assert (soon.unmatched, soon.expired, soon.imported) == (5, 0, 0)
    assert count_all(engine) == 10
    assert plan_retention(engine, default_days=30, now=T0 + timedelta(days=89)).total == 0
    later = apply_retention(engine, default_days=30, now=T0 + timedelta(days=90))
    assert (later.unmatched, later.expired, later.imported) == (0, 0, 10)
    assert count_all(engine) == 0
    # Retention is no author's deletion: nothing is tombstoned.
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tombstones)).scalar() == 0
    assert [details for _, _, details in retention_history(engine)] == [
        {"unmatched": 0, "expired": 0, "imported": 10, "default_days": 30},
        {"unmatched": 5, "expired": 0, "imported": 0, "default_days": 30},
    ]


def test_a_monitor_keeps_an_imported_post_beyond_its_import(engine: sa.Engine) -> None:
    import_id = _import(engine, days=10)
    with PostWriter(engine) as writer:
        posts = [_post(1, 1, "brand in Lochem"), _post(2, 1, "feest in Eindhoven")]
        writer.write(Batch(posts=posts, import_id=import_id))
    monitors.create(
        engine,
        Monitor(
            name="lochem",
            query="lochem",
            owner="o",
            purpose="fire safety",
            legal_basis="public-task",
            retention_days=60,
        ),
    )
    after_import = apply_retention(engine, default_days=30, now=T0 + timedelta(days=20))
    assert after_import.imported == 1
    assert get_post(engine, sid(1)) is not None
    assert get_post(engine, sid(2)) is None
    # The monitor's 60 days count from the post's creation (T0 - 1 day).
    assert plan_retention(engine, default_days=30, now=T0 + timedelta(days=58)).total == 0
    assert apply_retention(engine, default_days=30, now=T0 + timedelta(days=60)).imported == 1
    assert count_all(engine) == 0


def test_a_dry_run_counts_per_reason_and_deletes_nothing(engine: sa.Engine) -> None:
    import_id = _import(engine, days=5)
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[_post(n, age_days=100) for n in range(3)], import_id=import_id))
        writer.write(Batch(posts=[_post(n, age_days=100) for n in range(3, 7)]))
    plan = plan_retention(engine, default_days=30, now=T0 + timedelta(days=6))
    assert (plan.unmatched, plan.expired, plan.imported) == (4, 0, 3)
    assert count_all(engine) == 7
    assert retention_history(engine) == []
    done = apply_retention(engine, default_days=30, now=T0 + timedelta(days=6))
    assert done == plan
