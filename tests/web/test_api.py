from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.settings import Settings
from stadspuls.web.app import create_app
from tests.factories import make_post, stored_id
from tests.support.accounts import bearer


def _client(settings: Settings, engine: sa.Engine) -> TestClient:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process([make_post(n, source="bluesky" if n < 3 else "rss") for n in range(5)])
    pipeline.close()
    return TestClient(create_app(settings, engine=engine), headers=bearer(engine))


def test_health_reports_database_and_counts(settings: Settings, engine: sa.Engine) -> None:
    body = _client(settings, engine).get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == engine.dialect.name
    assert body["posts"] == 5
    assert body["schema_revision"]


def test_posts_are_paged_newest_first_and_filtered(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    page = client.get("/api/posts", params={"limit": 2}).json()
    assert page["total"] == 5
    assert [p["id"] for p in page["posts"]] == [stored_id(settings, f"test:{n}") for n in (4, 3)]
    assert all(p["author_key"].startswith("u") for p in page["posts"])
    rss = client.get("/api/posts", params={"source": "rss", "offset": 1}).json()
    assert [p["id"] for p in rss["posts"]] == [stored_id(settings, "test:3")]
    timed = client.get("/api/posts", params={"since": "2026-11-23T12:02:00Z"}).json()
    assert timed["total"] == 3
    assert client.get("/api/posts", params={"since": "2026-11-23T12:02:00"}).status_code == 422
    one = client.get(f"/api/posts/{stored_id(settings, 'test:2')}").json()
    assert one["text"].startswith("bericht nummer 2")
    assert client.get(f"/api/posts/{stored_id(settings, 'test:99')}").status_code == 404


def test_volume_buckets(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    body = client.get("/api/stats/volume", params={"bucket": "minute", "source": "bluesky"}).json()
    assert body["bucket_seconds"] == 60
    assert [b["count"] for b in body["buckets"]] == [1, 1, 1]
    assert client.get("/api/stats/volume", params={"bucket": "fortnight"}).status_code == 422


def test_openapi_is_served(settings: Settings, engine: sa.Engine) -> None:
    client = _client(settings, engine)
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/api/posts", "/api/stats/volume"} <= set(paths)
    docs = client.get("/docs")
    assert docs.status_code == 200
    # The API docs work offline: their script and style come from this server, not a CDN.
    assert "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
