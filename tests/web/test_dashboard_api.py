"""The dashboard's JSON: overview, monitor view and map, for a viewer and an analyst; nothing
without a login; answers that match the schema the OpenAPI document publishes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.records import utcnow
from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from stadspuls.web.app import create_app
from stadspuls.web.dashboard_schemas import MapViewOut, MonitorViewOut, OverviewOut
from tests.service.test_aggregates import LOCHEM, Posts
from tests.support.accounts import bearer


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, engine=open_store(settings.db_url)))


def _engine(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def _fill(engine: sa.Engine) -> int:
    posts = Posts(engine)
    m = posts.monitor("brand")
    at = utcnow() - timedelta(hours=2)
    posts.many(m, at, 6, places=[LOCHEM], hashtags=["brand"], text="Brand in de loods")
    posts.many(m, at - timedelta(hours=1), 2, first=40, hashtags=["rook"], text="Rook boven Lochem")
    posts.store()
    return m


def test_nothing_without_a_login(client: TestClient) -> None:
    m = _fill(_engine(client))
    for path in ("/api/overview", f"/api/monitors/{m}/view", "/api/map"):
        assert client.get(path).status_code == 401, path


def test_a_viewer_gets_aggregates_above_the_floor_and_no_query(client: TestClient) -> None:
    engine = _engine(client)
    m = _fill(engine)
    viewer = bearer(engine, "viewer")
    analyst = bearer(engine, "analyst")

    answer = client.get("/api/overview", headers=viewer)
    assert answer.status_code == 200
    overview = OverviewOut.model_validate_json(answer.content)
    (row,) = overview.monitors
    assert (row.monitor.name, row.monitor.query, row.posts_24h) == ("brand", "", 8)

    answer = client.get(f"/api/monitors/{m}/view", headers=viewer)
    assert answer.status_code == 200
    view = MonitorViewOut.model_validate_json(answer.content)
    assert view.total == 8
    assert [c.value for c in view.facets.tags] == ["brand"]  # "rook": 2 authors, withheld
    assert view.facets.suppressed > 0
    assert [c.value for c in view.facets.terms] == ["brand", "loods"]
    full = MonitorViewOut.model_validate_json(
        client.get(f"/api/monitors/{m}/view", headers=analyst).content
    )
    assert [c.value for c in full.facets.tags] == ["brand", "rook"]
    assert full.monitor.query == "brand"

    answer = client.get("/api/map", params={"monitor": m}, headers=viewer)
    assert answer.status_code == 200
    places = MapViewOut.model_validate_json(answer.content).places
    assert [(p.name, p.posts) for p in places] == [("Lochem", 6)]


def test_ranges_and_monitors_are_checked(client: TestClient) -> None:
    engine = _engine(client)
    m = _fill(engine)
    viewer = bearer(engine, "viewer")
    assert client.get("/api/monitors/999/view", headers=viewer).status_code == 404
    assert client.get("/api/map", params={"monitor": 999}, headers=viewer).status_code == 404
    backwards = {"since": "2026-11-30T10:00:00Z", "until": "2026-11-30T09:00:00Z"}
    assert (
        client.get(f"/api/monitors/{m}/view", params=backwards, headers=viewer).status_code == 422
    )
    naive = {"since": "2026-11-30T10:00:00"}
    assert client.get("/api/map", params=naive, headers=viewer).status_code == 422
    # A default range that would start before year 1 (found by the API fuzz test).
    first_day = {"until": "0001-01-01T00:00:00Z"}
    assert client.get("/api/map", params=first_day, headers=viewer).status_code == 422
    week = {"since": "2026-11-23T10:00:00Z", "until": "2026-12-30T10:00:00Z"}
    daily = client.get(f"/api/monitors/{m}/view", params=week, headers=viewer).json()
    assert daily["series"]["bucket_seconds"] == 86400


def test_the_openapi_schema_describes_the_dashboard(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/api/overview", "/api/monitors/{monitor_id}/view", "/api/map"):
        answer = schema["paths"][path]["get"]["responses"]["200"]
        assert answer["content"]["application/json"]["schema"]["$ref"].startswith(
            "#/components/schemas/"
        )
    assert "PointOut" in schema["components"]["schemas"]
