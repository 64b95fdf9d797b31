from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.settings import Settings
from stadspuls.web.app import create_app
from tests.factories import make_post
from tests.support.accounts import bearer

TEXTS = ["Brand in een loods in Lochem", "Rustig op Stratumseind", "Dijk bij Lochem houdt het"]
BODY = {
    "name": "lochem",
    "query": "lochem AND (brand OR dijk)",
    "purpose": "flood and fire watch for the municipality of Lochem",
    "legal_basis": "public-task",
    "retention_days": 30,
}


def _client(settings: Settings, engine: sa.Engine) -> TestClient:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process([make_post(n, TEXTS[n % 3]) for n in range(9)])
    pipeline.close()
    return TestClient(create_app(settings, engine=engine), headers=bearer(engine))


def test_monitor_crud_posts_and_stats(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    created = client.post("/api/monitors", json=BODY)
    assert created.status_code == 201, created.text
    monitor = created.json()
    assert monitor["posts"] == 6
    assert client.post("/api/monitors", json=BODY).status_code == 409
    assert [m["name"] for m in client.get("/api/monitors").json()] == ["lochem"]
    posts = client.get(f"/api/monitors/{monitor['id']}/posts", params={"limit": 2}).json()
    assert posts["total"] == 6
    assert len(posts["posts"]) == 2
    stats = client.get(f"/api/monitors/{monitor['id']}/stats", params={"bucket": "day"}).json()
    assert sum(b["count"] for b in stats["buckets"]) == 6
    patched = client.patch(f"/api/monitors/{monitor['id']}", json={"query": "brand"}).json()
    assert (patched["query"], patched["posts"]) == ("brand", 3)
    assert client.delete(f"/api/monitors/{monitor['id']}").status_code == 204
    assert client.get(f"/api/monitors/{monitor['id']}").status_code == 404


def test_bad_queries_and_missing_purpose_are_422(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    bad = client.post("/api/monitors", json={**BODY, "query": "(lochem OR brand"})
    assert bad.status_code == 422
    assert bad.json()["column"] is not None
    assert "column" in bad.json()["detail"]
    no_purpose = client.post("/api/monitors", json={**BODY, "purpose": " "})
    assert no_purpose.status_code == 422
    assert "purpose" in no_purpose.json()["detail"]
    assert client.post("/api/monitors", json={**BODY, "legal_basis": "x"}).status_code == 422
    search = client.get("/api/posts", params={"q": "lochem NEAR/"})
    assert search.status_code == 422
    assert isinstance(search.json()["column"], int)


def test_posts_search_with_the_query_language(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    found = client.get("/api/posts", params={"q": "lochem AND NOT brand"}).json()
    assert found["total"] == 3
    assert all("Dijk" in p["text"] for p in found["posts"])
