"""After the door, the read paths still work on what is stored: `@handle` queries (streaming
and archive), `has:link` / `has:media`, deletions; and nothing on the way out opens a sealed link.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.cli.common import pseudonym_function
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.query.matcher import compile_query
from stadspuls.records import Deletion
from stadspuls.settings import Settings
from stadspuls.store.posts import count_all, get_post
from stadspuls.store.search import search_posts
from stadspuls.web.app import create_app
from tests.factories import T0, make_post, stored_id
from tests.support.accounts import bearer

POSTS = [
    make_post(1, "Brandweer.nl meldt: .@veiligheidsregio_ijsselland ter plaatse", source="twitter"),
    make_post(2, "Zie https://mastodon.nl/@anna/113526 over de brand", source="mastodon"),
    make_post(3, "Foto van de brand", media=("https://cdn.bsky.app/img/a/did:plc:abc/x@jpeg",)),
    make_post(4, "Verslag: https://nos.nl/artikel/1 brand", url="https://x.com/demo/status/4"),
    make_post(5, "Niets bijzonders vandaag"),
]


def _stored(settings: Settings, engine: sa.Engine) -> None:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process(POSTS)
    pipeline.close()


def test_mentions_match_in_every_written_form(settings: Settings, engine: sa.Engine) -> None:
    _stored(settings, engine)
    pseudonymise = pseudonym_function(settings)
    for query, number in (("@veiligheidsregio_ijsselland", 1), ("@anna@mastodon.nl", 2)):
        found = search_posts(engine, query, pseudonymise=pseudonymise)
        assert [p.id for p in found] == [stored_id(settings, f"test:{number}")]
        streaming = compile_query(query, pseudonymise=pseudonymise)
        assert streaming.matches(found[0])


def test_link_and_media_filters_see_sealed_values(settings: Settings, engine: sa.Engine) -> None:
    _stored(settings, engine)
    media = search_posts(engine, "has:media")
    assert [p.id for p in media] == [stored_id(settings, "test:3")]
    links = search_posts(engine, "has:link brand")
    assert {p.id for p in links} == {stored_id(settings, f"test:{n}") for n in (2, 4)}
    assert all(link.startswith("sealed1:") for p in links for link in (*p.links, *p.media))


def test_a_deletion_with_the_platform_id_removes_the_post(
    settings: Settings, engine: sa.Engine
) -> None:
    _stored(settings, engine)
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process([Deletion("test:4", T0)])
    pipeline.close()
    assert get_post(engine, stored_id(settings, "test:4")) is None
    assert count_all(engine) == 4


def test_the_api_returns_no_link_to_the_original(settings: Settings, engine: sa.Engine) -> None:
    _stored(settings, engine)
    client = TestClient(create_app(settings, engine=engine), headers=bearer(engine))
    post = client.get(f"/api/posts/{stored_id(settings, 'test:4')}").json()
    assert post["url"] is None
    assert (post["link_count"], post["media_count"]) == (1, 0)
    assert "links" not in post
    assert "sealed1:" not in client.get("/api/posts").text
    schema = client.get("/openapi.json").json()["components"]["schemas"]["PostOut"]
    assert "role-gated" in schema["properties"]["url"]["description"]
