from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
import sqlalchemy as sa

from stadspuls import monitors
from stadspuls.consumers import Consumers, Driver
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import Monitor, Place
from stadspuls.settings import Settings
from stadspuls.store import monitors as store
from stadspuls.store.consumers import posts_after
from stadspuls.store.posts import count_all, get_post
from stadspuls.store.retention import apply_retention, retention_history
from tests.factories import T0, make_post, stored_id

TEXTS = [
    "Uitslaande brand in een loods in Lochem",
    "Dijk bij Lochem houdt het, geen wateroverlast",
    "Drukte op Stratumseind, politie aanwezig",
    "PSV wint, feest op Stratumseind",
    "Stroomstoring in Groningen na vuurwerk",
    "Brand in fabriek in Deventer",
]


def _monitor(**fields: object) -> Monitor:
    values: dict[str, object] = {
        "name": "stratumseind",
        "query": "stratumseind AND NOT psv",
        "owner": "team-oost",
        "purpose": "crowd safety in the Eindhoven night-life area",
        "legal_basis": "public-task",
        "retention_days": 30,
    }
    values.update(fields)
    return Monitor(**values)  # type: ignore[arg-type]


def _store(settings: Settings, engine: sa.Engine, n: int = 30) -> None:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process([make_post(i, TEXTS[i % len(TEXTS)]) for i in range(n)])
    pipeline.close()


def _link(engine: sa.Engine) -> int:
    """Run the linker from its cursor until it has linked every stored post; posts consumed."""
    linker = Driver(engine, monitors.MonitorLinker(engine))
    linker.prepare()
    seen = 0
    while consumed := linker.step():
        seen += consumed
    return seen


def test_a_monitor_needs_purpose_basis_and_a_valid_query() -> None:
    with pytest.raises(monitors.MonitorError, match="purpose"):
        monitors.validate(_monitor(purpose="  "))
    with pytest.raises(monitors.MonitorError, match="legal basis"):
        monitors.validate(_monitor(legal_basis="because"))
    with pytest.raises(QuerySyntaxError) as error:
        monitors.validate(_monitor(query="(brand OR rook"))
    assert "column" in str(error.value)
    monitors.validate(_monitor())


def test_create_backfills_and_edit_rematches(settings: Settings, engine: sa.Engine) -> None:
    _store(settings, engine)
    saved, matched = monitors.create(engine, _monitor())
    assert matched == 5  # Stratumseind posts without PSV: every 6th post of 30
    total, page = store.monitor_post_page(engine, saved.id or 0, limit=3)
    assert total == 5
    assert all("Stratumseind" in p.text and "PSV" not in p.text for p in page)
    assert [p.created_at for p in page] == sorted((p.created_at for p in page), reverse=True)
    edited, rematched = monitors.edit(engine, monitors.replace(saved, query="brand"))
    assert rematched == 10
    assert store.monitor_post_page(engine, saved.id or 0)[0] == 10
    unchanged, again = monitors.edit(engine, monitors.replace(edited, purpose="fire watch"))
    assert again is None
    assert unchanged.purpose == "fire watch"
    with pytest.raises(store.MonitorExists):
        monitors.create(engine, _monitor(name="stratumseind"))


def test_place_filters_limit_the_monitor(settings: Settings, engine: sa.Engine) -> None:
    _store(settings, engine)
    saved, matched = monitors.create(
        engine, _monitor(name="brand", query="brand", places=("Lochem",))
    )
    assert matched == 5
    assert monitors.effective_query(saved) == '(brand) AND (place:"Lochem")'


def test_live_linker_links_arriving_posts_and_catches_up(
    settings: Settings, engine: sa.Engine
) -> None:
    saved, _ = monitors.create(engine, _monitor(name="lochem", query="lochem"))
    assert _link(engine) == 0  # first start: from the newest stored post on
    _store(settings, engine, n=12)
    assert _link(engine) == 12
    assert store.monitor_post_page(engine, saved.id or 0)[0] == 4
    # Posts stored while no linker ran (a crash between commit and linking) are caught up.
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process([make_post(100 + i, "Nieuwe melding uit Lochem") for i in range(3)])
    pipeline.close()
    assert store.monitor_post_page(engine, saved.id or 0)[0] == 4
    assert _link(engine) == 3
    assert store.monitor_post_page(engine, saved.id or 0)[0] == 7
    # A monitor created later is picked up by a running linker.
    later, _ = monitors.create(engine, _monitor(name="groningen", query="groningen"))
    with Consumers(engine, [monitors.MonitorLinker(engine)], poll_s=0.05) as running:
        pipeline = Pipeline(engine, build_door(settings), on_commit=running.wake)
        pipeline.process([make_post(200, "Storing in Groningen")])
        pipeline.close()
        assert running.drain()
    assert store.monitor_post_page(engine, later.id or 0)[0] == 3
    with engine.connect() as conn:
        pks = [pk for pk, _ in posts_after(conn, 0, 100)]
        links = store.links_for(conn, pks)
    assert sum(len(found) for found in links.values()) == 10
    assert all(found == sorted(found) for found in links.values())
    assert set(links) < set(pks)  # posts that matched no monitor are left out


def test_retention_keeps_what_a_monitor_covers(settings: Settings, engine: sa.Engine) -> None:
    _store(settings, engine, n=12)
    _saved, matched = monitors.create(
        engine, _monitor(name="lochem", query="lochem", retention_days=60)
    )
    assert matched == 4
    # 40 days later: the default period (30) has passed, the monitor's (60) has not.
    result = apply_retention(engine, default_days=30, now=T0 + timedelta(days=40))
    assert (result.unmatched, result.expired) == (8, 0)
    assert count_all(engine) == 4
    result = apply_retention(engine, default_days=30, now=T0 + timedelta(days=61))
    assert (result.unmatched, result.expired) == (0, 4)
    assert count_all(engine) == 0
    history = retention_history(engine)
    assert [total for _, total, _ in history] == [4, 8]
    assert history[0][2]["expired"] == 4


def test_recognised_places_count_for_place_filters(settings: Settings, engine: sa.Engine) -> None:
    place = Place(
        code="GM0796", name="Den Bosch", municipality="'s-Hertogenbosch", lat=51.69, lon=5.30
    )
    door = build_door(settings)
    posts = door([make_post(1, "Brand bij de Markt"), make_post(2, "Brand in Tilburg")])
    posts[0] = msgspec.structs.replace(posts[0], places=(place,))
    from stadspuls.store.writer import Batch, PostWriter

    with PostWriter(engine) as writer:
        writer.write(Batch(posts=posts))
    _saved, matched = monitors.create(
        engine, _monitor(name="bosch", query="brand", places=("'s-Hertogenbosch",))
    )
    assert matched == 1
    assert get_post(engine, stored_id(settings, "test:1")) is not None
