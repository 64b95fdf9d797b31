"""The inbox settings API under /api/inbox: admins set up departments and rules, department
members their templates and calls; every mistake is a 4xx that says what is wrong."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.store import audit, users
from stadspuls.web.app import create_app
from tests.support.accounts import bearer

WEEK = {str(day): [{"start": "08:30", "end": "17:00"}] for day in range(5)}


def clients(settings: Settings, engine: sa.Engine) -> tuple[TestClient, TestClient, TestClient]:
    app = create_app(settings, engine=engine)
    admin = TestClient(app, headers=bearer(engine, "admin", name="beheer"))
    ana = TestClient(app, headers=bearer(engine, "analyst", name="ana"))
    bob = TestClient(app, headers=bearer(engine, "analyst", name="bob"))
    return admin, ana, bob


def user_id(engine: sa.Engine, name: str) -> int:
    user = users.find_user(engine, name)
    assert user is not None
    assert user.id is not None
    return user.id


def test_departments_with_hours_and_members(settings: Settings, engine: sa.Engine) -> None:
    admin, ana, _bob = clients(settings, engine)
    body = {
        "slug": "wijkzaken",
        "name": "Wijkzaken",
        "hours": {"week": {**WEEK, "5": [{"start": "10:00", "end": "24:00"}]}},
        "first_response_hours": 4,
        "retention_days": 1825,
    }
    assert ana.post("/api/inbox/departments", json=body).status_code == 403
    created = admin.post("/api/inbox/departments", json=body)
    assert created.status_code == 201, created.text
    department = created.json()
    assert department["hours_text"] == "ma–vr 08:30–17:00; za 10:00–24:00; feestdagen gesloten"
    assert department["hours"]["week"]["5"] == [{"start": "10:00", "end": "24:00"}]
    assert admin.post("/api/inbox/departments", json=body).status_code == 409
    overlap = {**body, "slug": "x1", "hours": {"week": {"0": [
        {"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "17:00"}]}}}  # fmt: skip
    refused = admin.post("/api/inbox/departments", json=overlap)
    assert refused.status_code == 422
    assert "overlap" in refused.json()["detail"]
    assert admin.post("/api/inbox/departments", json={**body, "slug": "A B"}).status_code == 422
    ana_id = user_id(engine, "ana")
    members = admin.put(
        f"/api/inbox/departments/{department['id']}/members", json={"user_ids": [ana_id]}
    )
    assert members.json()["members"] == [ana_id]
    changed = admin.put(
        f"/api/inbox/departments/{department['id']}", json={**body, "name": "Wijkteam"}
    )
    assert changed.json()["name"] == "Wijkteam"
    assert changed.json()["members"] == [ana_id]
    assert admin.put("/api/inbox/departments/999", json=body).status_code == 404
    assert [d["name"] for d in ana.get("/api/inbox/departments").json()] == ["Wijkteam"]
    _total, entries = audit.list_entries(engine, actions=["department.save", "department.members"])
    assert len(entries) == 3


def test_rules_with_a_bad_query_a_move_and_a_test_message(
    settings: Settings, engine: sa.Engine
) -> None:
    admin, ana, _bob = clients(settings, engine)
    afval = admin.post("/api/inbox/departments", json={"slug": "afval", "name": "Afval"}).json()
    rule = {"department_id": afval["id"], "name": "Afval Eindhoven", "query": "afval OR vuilnis",
            "places": ["Eindhoven"], "categories": ["afval"]}  # fmt: skip
    bad = admin.post("/api/inbox/rules", json={**rule, "query": "(afval"})
    assert bad.status_code == 422
    assert bad.json()["column"] is not None
    unknown = admin.post("/api/inbox/rules", json={**rule, "places": ["Atlantis"]})
    assert unknown.status_code == 422
    assert "Atlantis" in unknown.json()["detail"]
    assert ana.post("/api/inbox/rules", json=rule).status_code == 403
    first = admin.post("/api/inbox/rules", json=rule).json()
    second = admin.post(
        "/api/inbox/rules",
        json={"department_id": afval["id"], "name": "Engels", "languages": ["en"]},
    ).json()
    assert (first["position"], second["position"]) == (1, 2)
    message = {"text": "De vuilnis is niet opgehaald", "category": "Afval", "place": "GM0772"}
    decision = ana.post("/api/inbox/rules/test", json=message).json()
    assert decision == {
        "department_id": afval["id"],
        "department": "Afval",
        "rule_id": first["id"],
        "rule": "Afval Eindhoven",
        "explanation": "regel 'Afval Eindhoven': zoekvraag 'afval OR vuilnis', "
        "categorie 'Afval', gemeente GM0772",
    }
    elsewhere = ana.post("/api/inbox/rules/test", json={**message, "place": "Groningen"}).json()
    assert elsewhere["rule_id"] is None
    assert elsewhere["department"] == "Algemeen"
    order = admin.post(f"/api/inbox/rules/{second['id']}/move", json={"steps": -1}).json()
    assert [r["id"] for r in order] == [second["id"], first["id"]]
    assert admin.delete(f"/api/inbox/rules/{second['id']}").status_code == 204
    assert admin.delete(f"/api/inbox/rules/{second['id']}").status_code == 404
    assert [r["name"] for r in ana.get("/api/inbox/rules").json()] == ["Afval Eindhoven"]


def test_templates_need_a_review_by_someone_else(settings: Settings, engine: sa.Engine) -> None:
    admin, ana, bob = clients(settings, engine)
    wijk = admin.post("/api/inbox/departments", json={"slug": "wijk", "name": "Wijk"}).json()
    admin.put(
        f"/api/inbox/departments/{wijk['id']}/members",
        json={"user_ids": [user_id(engine, "ana"), user_id(engine, "bob")]},
    )
    template = {
        "name": "parkeren",
        "subject": "Parkeren ({referentie})",
        "body": "{aanhef}\n\nU mag daar parkeren.",
        "department_id": wijk["id"],
    }
    unknown = ana.post("/api/inbox/templates", json={**template, "body": "Hallo {voornaam}"})
    assert unknown.status_code == 422
    assert "{voornaam}" in unknown.json()["detail"]
    created = ana.post("/api/inbox/templates", json=template)
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["placeholders"] == ["referentie", "aanhef"]
    assert saved["reviewed_by"] is None
    own = ana.post(f"/api/inbox/templates/{saved['id']}/review")
    assert own.status_code == 422
    reviewed = bob.post(f"/api/inbox/templates/{saved['id']}/review").json()
    assert reviewed["reviewed_by"] == "bob"
    edited = ana.put(f"/api/inbox/templates/{saved['id']}", json={**template, "body": "Nee."})
    assert edited.json()["reviewed_by"] is None
    assert ana.post("/api/inbox/templates", json=template).status_code == 409
    shared = ana.post(
        "/api/inbox/templates", json={**template, "name": "x2", "department_id": None}
    )
    assert shared.status_code == 403
    assert ana.delete(f"/api/inbox/templates/{saved['id']}").status_code == 204
    assert ana.delete(f"/api/inbox/templates/{saved['id']}").status_code == 404


def test_calls_with_questions(settings: Settings, engine: sa.Engine) -> None:
    admin, ana, bob = clients(settings, engine)
    politie = admin.post("/api/inbox/departments", json={"slug": "politie", "name": "Politie"})
    department_id = politie.json()["id"]
    admin.put(
        f"/api/inbox/departments/{department_id}/members",
        json={"user_ids": [user_id(engine, "ana")]},
    )
    call = {
        "slug": "brand-stationsstraat",
        "title": "Getuigen gezocht: brand Stationsstraat, 12 mei",
        "department_id": department_id,
        "questions": [
            {"key": "gezien", "label": "Wat zag u?", "required": True},
            {"key": "waar", "label": "Waar stond u?", "kind": "choice", "choices": ["N", "Z"]},
        ],
        "starts_at": "2026-05-12T20:00:00+02:00",
        "lat": 51.44,
        "lon": 5.48,
    }
    assert bob.post("/api/inbox/calls", json=call).status_code == 403
    naive = ana.post("/api/inbox/calls", json={**call, "starts_at": "2026-05-12T20:00:00"})
    assert naive.status_code == 422
    one_choice = {
        **call,
        "questions": [{"key": "k", "label": "K", "kind": "choice", "choices": ["a"]}],
    }
    assert ana.post("/api/inbox/calls", json=one_choice).status_code == 422
    created = ana.post("/api/inbox/calls", json=call)
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["public_path"] == "/oproep/brand-stationsstraat"
    assert saved["created_by"] == "ana"
    assert ana.post("/api/inbox/calls", json=call).status_code == 409
    closed = ana.put(f"/api/inbox/calls/{saved['id']}", json={**call, "closed": True}).json()
    assert closed["closed"] is True
    assert closed["created_by"] == "ana"
    assert [c["slug"] for c in bob.get("/api/inbox/calls").json()] == ["brand-stationsstraat"]
    assert bob.get(f"/api/inbox/calls/{saved['id']}").json()["questions"][1]["choices"] == [
        "N",
        "Z",
    ]
    assert bob.get("/api/inbox/calls/12345").status_code == 404


def test_anonymous_is_401_and_viewers_403(settings: Settings, engine: sa.Engine) -> None:
    app = create_app(settings, engine=engine)
    anonymous = TestClient(app)
    viewer = TestClient(app, headers=bearer(engine, "viewer"))
    for path in ("/api/inbox/departments", "/api/inbox/rules", "/api/inbox/templates",
                 "/api/inbox/calls"):  # fmt: skip
        assert anonymous.get(path).status_code == 401
        assert viewer.get(path).status_code == 403
