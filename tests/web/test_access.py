"""The API behind roles: nothing under /api answers without credentials (walked over the app's
own routes, so a new route cannot forget it), viewers get aggregates and never post texts,
session changes need their CSRF token, and what is audited is in the audit log."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import AuditEntry, User, utcnow
from stadspuls.settings import Settings
from stadspuls.store import audit, users
from stadspuls.web.app import create_app
from stadspuls.web.auth import CSRF_HEADER, SESSION_COOKIE
from tests.factories import make_post, stored_id
from tests.support.accounts import bearer

# Routes a viewer may call: aggregates only (no post text, no alert). Every other /api route
# must need "posts" or "admin"; adding an aggregate route means adding it here, on purpose.
AGGREGATE_ROUTES = {
    ("GET", "/api/monitors"),
    ("GET", "/api/monitors/{monitor_id}"),
    ("GET", "/api/governance/models"),
    ("GET", "/api/governance/algoritmeregister"),
    ("GET", "/api/overview"),
    ("GET", "/api/monitors/{monitor_id}/view"),
    ("GET", "/api/map"),
}
MONITOR = {
    "name": "brand",
    "query": "brand OR rook",
    "purpose": "fire watch",
    "legal_basis": "public-task",
    "retention_days": 30,
}


def _routes(client: TestClient) -> list[tuple[str, set[str], APIRoute]]:
    """(path, methods, route) of every route under /api, with the prefixes routers got when
    they were included (FastAPI includes routers lazily: `app.routes` holds the routers)."""
    app: FastAPI = client.app_under_test  # type: ignore[attr-defined]
    found = [
        (context.path, context.methods or set(), context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and (context.path or "").startswith("/api")
    ]
    assert len(found) >= 20
    return found  # type: ignore[return-value]


def _api_routes(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, path template, a concrete URL) of every route under /api, every method."""
    found: list[tuple[str, str, str]] = []
    for path, methods, _ in _routes(client):
        url = re.sub(r"\{[^}]+\}", "1", path)
        found.extend((method, path, url) for method in sorted(methods))
    return found


def _permission(route: APIRoute) -> set[str]:
    names = {d.call.__name__ for d in route.dependant.dependencies if d.call is not None}
    return {n.removeprefix("require_") for n in names if n.startswith("require_")}


@pytest.fixture
def client(settings: Settings, engine: sa.Engine) -> TestClient:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process(
        [
            make_post(1, "Brand bij @wachtpost in de binnenstad"),
            make_post(2, "Rook boven de haven", url="https://x.com/demo/status/2"),
        ]
    )
    pipeline.close()
    app = create_app(settings, engine=engine)
    client = TestClient(app)
    client.app_under_test = app  # type: ignore[attr-defined]
    return client


def test_every_api_route_answers_401_without_credentials(client: TestClient) -> None:
    routes = _api_routes(client)
    assert len(routes) >= 25
    for method, _, url in routes:
        response = client.request(method, url)
        assert response.status_code == 401, (method, url, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
    bad = client.get("/api/posts", headers={"Authorization": "Bearer sp_not-a-token"})
    assert bad.status_code == 401
    # /health stays open, and says no more than counts and states.
    health = client.get("/health")
    assert health.status_code == 200
    assert "Brand" not in health.text


def test_every_route_states_one_permission(client: TestClient) -> None:
    for path, methods, route in _routes(client):
        needed = _permission(route)
        assert len(needed) == 1, (path, needed)
        aggregate = {(m, path) for m in methods} <= AGGREGATE_ROUTES
        assert (needed == {"aggregates"}) == aggregate, (path, needed)


def test_a_viewer_gets_aggregates_and_never_post_texts(
    client: TestClient, engine: sa.Engine
) -> None:
    analyst = bearer(engine, "analyst")
    assert client.post("/api/monitors", json=MONITOR, headers=analyst).status_code == 201
    viewer = bearer(engine, "viewer")
    refused = 0
    for method, path, url in _api_routes(client):
        if (method, path) in AGGREGATE_ROUTES:
            continue
        response = client.request(method, url, headers=viewer)
        assert response.status_code == 403, (method, url, response.text)
        assert "Brand" not in response.text
        refused += 1
    assert refused >= 20
    monitors = client.get("/api/monitors", headers=viewer)
    assert monitors.status_code == 200
    assert [(m["name"], m["purpose"], m["posts"]) for m in monitors.json()] == [
        ("brand", "fire watch", 2)
    ]
    models = client.get("/api/governance/models", headers=viewer).json()
    assert {m["name"] for m in models} >= {"Incident type", "Rumour likelihood (PHEME)"}
    assert client.get("/api/governance/algoritmeregister", headers=viewer).status_code == 200
    for url in ("/api/overview", "/api/map", f"/api/monitors/{monitors.json()[0]['id']}/view"):
        aggregate = client.get(url, headers=viewer)
        assert aggregate.status_code == 200, (url, aggregate.text)
        assert "Brand" not in aggregate.text


def test_a_session_change_needs_its_csrf_token(client: TestClient, engine: sa.Engine) -> None:
    user = users.create_user(engine, User(username="duty", role="analyst"), password_hash=None)
    assert user.id is not None
    token, csrf = users.create_session(engine, user.id, ttl_s=3600)
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/api/monitors").status_code == 200  # reading needs no CSRF token
    assert client.post("/api/monitors", json=MONITOR).status_code == 403
    wrong = client.post("/api/monitors", json=MONITOR, headers={CSRF_HEADER: "forged"})
    assert wrong.status_code == 403
    created = client.post("/api/monitors", json=MONITOR, headers={CSRF_HEADER: csrf})
    assert created.status_code == 201
    assert created.json()["owner"] == "duty"


def _entries(engine: sa.Engine) -> list[AuditEntry]:
    return list(reversed(audit.list_entries(engine, limit=1000)[1]))


def test_reidentification_needs_the_grant_and_a_reason(
    client: TestClient, engine: sa.Engine, settings: Settings
) -> None:
    query = {"q": "@wachtpost"}
    plain = client.get("/api/posts", params=query, headers=bearer(engine, "analyst"))
    assert plain.status_code == 403
    assert "pseudonym" in plain.json()["detail"]
    granted = bearer(engine, "analyst", reidentify=True)
    unreasoned = client.get("/api/posts", params=query, headers=granted)
    assert unreasoned.status_code == 422
    assert "reason" in unreasoned.json()["detail"]
    assert _entries(engine) == []  # nothing was resolved, nothing was shown
    found = client.get("/api/posts", params={**query, "reason": "threat"}, headers=granted)
    assert found.status_code == 200
    assert [p["id"] for p in found.json()["posts"]] == [stored_id(settings, "test:1")]
    monitor = {**MONITOR, "name": "account", "query": "@wachtpost"}
    refused = client.post("/api/monitors", json=monitor, headers=bearer(engine, "analyst"))
    assert refused.status_code == 403
    assert client.post("/api/monitors", json=monitor, headers=granted).status_code == 422
    made = client.post("/api/monitors", json=monitor, params={"reason": "threat"}, headers=granted)
    assert made.status_code == 201
    assert made.json()["posts"] == 1
    assert [(e.action, e.actor, e.posts, e.reason, e.query) for e in _entries(engine)] == [
        ("reidentify", "analyst-reid", 0, "threat", "@wachtpost"),
        ("posts.view", "analyst-reid", 1, None, "@wachtpost"),
        ("reidentify", "analyst-reid", 0, "threat", "@wachtpost"),
        ("monitor.add", "analyst-reid", 0, None, "@wachtpost"),
    ]


def test_views_links_and_monitor_changes_are_audited(
    client: TestClient, engine: sa.Engine, settings: Settings
) -> None:
    analyst = bearer(engine, "analyst", name="anna")
    assert client.get("/api/posts", headers=analyst).json()["total"] == 2
    made = client.post("/api/monitors", json=MONITOR, headers=analyst).json()
    monitor_posts = client.get(f"/api/monitors/{made['id']}/posts", headers=analyst).json()
    assert monitor_posts["total"] == 2
    linked = stored_id(settings, "test:2")
    without = client.post(f"/api/posts/{linked}/link", json={"reason": ""}, headers=analyst)
    assert without.status_code == 422
    opened = client.post(f"/api/posts/{linked}/link", json={"reason": "check"}, headers=analyst)
    assert opened.json() == {"url": "https://x.com/demo/status/2"}
    changed = client.patch(f"/api/monitors/{made['id']}", json={"query": "rook"}, headers=analyst)
    assert changed.json()["posts"] == 1
    assert client.delete(f"/api/monitors/{made['id']}", headers=analyst).status_code == 204
    assert [(e.action, e.monitor_id, e.posts, e.reason) for e in _entries(engine)] == [
        ("posts.view", None, 2, None),
        ("monitor.add", made["id"], 0, None),
        ("posts.view", made["id"], 2, None),
        ("link.open", None, 1, "check"),
        ("monitor.edit", made["id"], 0, None),
        ("monitor.delete", made["id"], 0, None),
    ]
    assert all(e.actor == "anna" and e.role == "analyst" for e in _entries(engine))


def test_admins_read_and_export_the_audit_log(client: TestClient, engine: sa.Engine) -> None:
    analyst = bearer(engine, "analyst", name="anna")
    client.get("/api/posts", headers=analyst)
    assert client.get("/api/audit", headers=analyst).status_code == 403
    admin = bearer(engine, "admin", name="root")
    page = client.get("/api/audit", params={"user": "anna"}, headers=admin).json()
    assert page["total"] == 1
    assert page["entries"][0]["action"] == "posts.view"
    assert page["entries"][0]["posts"] == 2
    export = client.get("/api/audit.csv", params={"action": "posts.view"}, headers=admin)
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0].startswith("id,at,actor")
    assert len(lines) == 2
    assert ",anna," in lines[1]
    last = _entries(engine)[-1]
    assert (last.action, last.actor, last.details) == (
        "audit.export",
        "root",
        {"since": None, "until": None, "actor": None, "actions": "posts.view", "entries": 1},
    )
    assert client.get("/api/governance/retention", headers=admin).json() == []
    register = client.get("/api/governance/register", headers=analyst).json()
    assert register == []


def test_the_audit_log_refuses_update_and_delete(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        audit.record(
            conn, AuditEntry(at=utcnow(), actor="anna", role="analyst", action="posts.view")
        )
    for statement in ("UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert [e.actor for e in _entries(engine)] == ["anna"]
