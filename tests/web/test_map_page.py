"""The map page: every municipality drawn from the shipped shapes, coloured from the
pre-aggregated counts; a municipality whose count rests on fewer than MIN_AUTHORS authors is
hatched for a viewer, never coloured; analysts follow a municipality to the monitor's feed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls import rollups
from stadspuls.records import Monitor, Place, Post, utcnow
from stadspuls.settings import Settings
from stadspuls.store import monitors as monitor_store
from stadspuls.store.database import open_store
from stadspuls.store.writer import Batch, PostWriter
from stadspuls.web.app import create_app
from stadspuls.web.routes.map_page import class_of, volume_breaks
from tests.support.accounts import bearer

LOCHEM = Place(code="GM0262", name="Lochem", municipality="Lochem", lat=52.16, lon=6.41)
DEVENTER = Place(code="GM0150", name="Deventer", municipality="Deventer", lat=52.25, lon=6.16)
TEXT = "brand in de loods aan de Markt"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'map.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def monitor(engine: sa.Engine) -> int:
    """Lochem: 10 authors, 6 of them negative; Deventer: 3 authors (below the floor)."""
    saved = monitor_store.insert_monitor(
        engine,
        Monitor(
            name="brand",
            query="brand",
            owner="team",
            purpose="tests",
            legal_basis="public-task",
            retention_days=30,
        ),
    )
    assert saved.id is not None
    at = utcnow() - timedelta(hours=2)
    posts = [
        Post(
            id=f"test:{n}",
            source="test",
            native_id=str(n),
            created_at=at + timedelta(seconds=n),
            text=TEXT,
            author_key=f"author{n}",
            sentiment="negative" if n < 6 else "neutral",
            places=(LOCHEM,) if n < 10 else (DEVENTER,),
            lang="nl",
        )
        for n in range(13)
    ]
    writer = PostWriter(engine)
    writer.write(Batch(posts=posts))
    writer.close()
    with engine.begin() as conn:
        found = monitor_store.pks_for_ids(conn, [p.id for p in posts])
        monitor_store.insert_links(conn, [(saved.id, *found[p.id]) for p in posts])
    rollups.rebuild(engine)
    return saved.id


def _path(html: str, code: str) -> str:
    found = re.search(rf'<path d="[^"]*" class="([^"]+)" data-code="{code}"><title>([^<]*)', html)
    assert found, code
    return f"{found.group(1)} | {found.group(2)}"


def test_a_viewer_sees_the_counts_and_a_withheld_municipality_hatched(
    settings: Settings, engine: sa.Engine, monitor: int
) -> None:
    client = TestClient(create_app(settings, engine=engine))
    page = client.get(f"/map?monitor={monitor}&range=24h", headers=bearer(engine, "viewer"))
    assert page.status_code == 200
    html = page.text
    drawn = re.findall(r'<path d="[^"]+" class="[^"]+" data-code="(GM\d{4})"', html)
    assert len(drawn) == len(set(drawn)) >= 342  # every municipality of the shipped shapes
    assert "Gemeentegrenzen: CBS/PDOK, CC BY 4.0" in html
    lochem = _path(html, "GM0262")
    assert re.match(r"c[1-5] \| Lochem: 10 berichten", lochem), lochem
    # Withheld: hatched when the service names it (posts None), else drawn as without posts;
    # never coloured, never with its number.
    assert _path(html, "GM0150") in {
        "hatched | Deventer: minder dan 5 auteurs",
        "c0 | Deventer: geen berichten",
    }
    assert "1 gemeente niet getoond: minder dan 5 auteurs." in html
    assert _path(html, "GM0363") == "c0 | Amsterdam: geen berichten"
    # A viewer follows a municipality to its numbers on this page, not to the posts.
    assert 'href="#place-GM0262"' in html
    assert 'id="place-GM0262"' in html
    assert "GM0150" not in html.split('<table class="place-table">')[1]
    assert TEXT not in html
    negative = client.get(
        f"/map?monitor={monitor}&metric=negative", headers=bearer(engine, "viewer")
    ).text
    assert "Lochem: 10 berichten, 60% negatief" in negative


def test_an_analyst_sees_every_municipality_and_follows_it_to_the_feed(
    settings: Settings, engine: sa.Engine, monitor: int
) -> None:
    client = TestClient(create_app(settings, engine=engine), follow_redirects=False)
    html = client.get(f"/map?monitor={monitor}", headers=bearer(engine, "analyst")).text
    assert re.match(r"c[1-5] \| Deventer: 3 berichten", _path(html, "GM0150"))
    assert f'href="/monitors/{monitor}?place=GM0262&amp;range=24h"' in html
    english = client.get(f"/map?monitor={monitor}&lang=en", headers=bearer(engine, "analyst"))
    assert "Municipal boundaries: CBS/PDOK, CC BY 4.0" in english.text
    assert client.get("/map").status_code == 303
    assert client.get("/map?monitor=999", headers=bearer(engine, "analyst")).status_code == 404
    assert client.get("/map?range=1y", headers=bearer(engine, "analyst")).status_code == 422


def test_volume_classes_follow_the_quantiles_of_skewed_counts() -> None:
    counts = [1, 1, 2, 2, 3, 4, 6, 9, 40, 400]
    breaks = volume_breaks(counts)
    assert breaks == (1, 2, 4, 9, 400)
    assert [class_of(c, breaks) for c in (1, 3, 5, 40, 400)] == [1, 3, 4, 5, 5]
    assert volume_breaks([7, 7, 7]) == (7,)  # one class: the map page draws it darkest
    assert volume_breaks([]) == ()
