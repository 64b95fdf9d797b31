"""/api/cases over the real app on each database: 401 anonymous, 403 without the permission or
outside the department for contact details, 404 for a case one may not see, 409 for a state
conflict, 422 for bad input, and the work itself."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.cases.records import Contact, InboundMessage, RoutingRule
from stadspuls.cases.service import CaseService
from stadspuls.records import Actor, utcnow
from stadspuls.settings import Settings
from stadspuls.store import audit, routing_rules, users
from stadspuls.web.app import create_app
from tests.support.accounts import bearer
from tests.support.inbox import ALWAYS, department


def _setup(
    settings: Settings, engine: sa.Engine
) -> tuple[TestClient, int, dict[str, dict[str, str]]]:
    app = create_app(settings, engine=engine)
    headers = {
        "ann": bearer(engine, "analyst", name="ann"),
        "carl": bearer(engine, "analyst", name="carl"),
        "root": bearer(engine, "admin", name="root"),
        "vera": bearer(engine, "viewer", name="vera"),
    }
    desk = department(engine, "wijkzaken", "Wijkzaken", hours=ALWAYS, members=("ann",))
    other = department(engine, "handhaving", "Handhaving", members=("carl",))
    assert desk.id is not None
    assert other.id == 2  # the reroutes below name it
    with engine.begin() as conn:
        routing_rules.save(conn, RoutingRule(department_id=desk.id, name="alles"))
    service: CaseService = app.state.cases
    receipt = service.receive(
        InboundMessage(
            channel="email", external_id="<1@example.nl>", received_at=utcnow(),
            text="De lantaarnpaal voor nummer 12 is kapot.", language="nl",
            contact=Contact(name="Piet", email="piet@example.nl"),
        )
    )  # fmt: skip
    assert receipt.department == "Wijkzaken"
    return TestClient(app), receipt.case_id, headers


def _actor(engine: sa.Engine, name: str) -> Actor:
    user = users.find_user(engine, name)
    assert user is not None
    return users.actor_of(user, "token")


def test_cases_api(settings: Settings, engine: sa.Engine) -> None:
    client, case_id, h = _setup(settings, engine)
    url = f"/api/cases/{case_id}"

    assert client.get("/api/cases").status_code == 401
    assert client.post(f"{url}/contact").status_code == 401
    assert client.get("/api/cases", headers=h["vera"]).status_code == 403

    listed = client.get("/api/cases", headers=h["ann"]).json()
    assert [c["id"] for c in listed["cases"]] == [case_id]
    assert listed["cases"][0]["reference"].startswith("SP-")
    assert listed["cases"][0]["overdue"] == []  # just arrived
    assert client.get("/api/cases", headers=h["carl"]).json()["cases"] == []
    assert client.get(url, headers=h["carl"]).status_code == 404
    assert client.get("/api/cases/999999", headers=h["ann"]).status_code == 404

    detail = client.get(url, headers=h["ann"]).json()
    assert detail["may_see_contact"] is True
    assert detail["department"]["slug"] == "wijkzaken"
    assert [e["kind"] for e in detail["events"]][:2] == ["created", "routed"]
    assert "piet@example.nl" not in str(detail)

    ann_id = _actor(engine, "ann").user_id
    assigned = client.post(f"{url}/assign", json={"assignee_id": ann_id}, headers=h["ann"])
    assert assigned.status_code == 200
    assert assigned.json()["state"] == "assigned"
    carl_id = _actor(engine, "carl").user_id
    outsider = client.post(f"{url}/assign", json={"assignee_id": carl_id}, headers=h["ann"])
    assert outsider.status_code == 422
    assert "not a member" in outsider.json()["detail"]

    note = client.post(f"{url}/note", json={"text": "Gemeld bij Enexis."}, headers=h["ann"])
    assert note.status_code == 201
    assert client.post(f"{url}/note", json={"text": "  "}, headers=h["ann"]).status_code == 422
    assert client.post(f"{url}/note", json={"text": "a\x00"}, headers=h["ann"]).status_code == 422

    draft = client.get(f"{url}/draft", params={"template": "ontvangen"}, headers=h["ann"])
    assert draft.status_code == 200
    assert "Beste Piet," in draft.json()["body"]
    missing = client.get(f"{url}/draft", params={"template": "nope"}, headers=h["ann"])
    assert missing.status_code == 404

    sent = client.post(
        f"{url}/reply", json={"body": draft.json()["body"], "template": "ontvangen"},
        headers=h["ann"],
    )  # fmt: skip
    assert sent.status_code == 201
    assert (sent.json()["channel"], sent.json()["delivery"]) == ("email", "queued")
    bad_state = client.post(
        f"{url}/reply", json={"body": "x", "state_after": "closed"}, headers=h["ann"]
    )
    assert bad_state.status_code == 422

    # Contact details: members only, admins included; audited.
    assert client.post(f"{url}/contact", headers=h["root"]).status_code == 403
    opened = client.post(f"{url}/contact", headers=h["ann"])
    assert opened.status_code == 200
    assert opened.json()["email"] == "piet@example.nl"
    _, entries = audit.list_entries(engine, actions=["contact.view"])
    assert [e.actor for e in entries] == ["ann"]

    closed = client.post(f"{url}/state", json={"state": "closed"}, headers=h["ann"])
    assert closed.status_code == 200
    again = client.post(f"{url}/state", json={"state": "closed"}, headers=h["ann"])
    assert again.status_code == 409
    assert "closed" in again.json()["detail"]
    assert client.post(f"{url}/reply", json={"body": "x"}, headers=h["ann"]).status_code == 409
    assert client.post(f"{url}/state", json={"state": "new"}, headers=h["ann"]).status_code == 422

    # The admin sees it, and may move it; the history keeps everything.
    handhaving = client.get("/api/cases", headers=h["root"]).json()["cases"][0]
    assert handhaving["state"] == "closed"
    moved = client.post(f"{url}/reroute", json={"department_id": 2}, headers=h["root"])
    assert moved.status_code == 409
    kinds = [e["kind"] for e in client.get(url, headers=h["root"]).json()["events"]]
    assert {"assigned", "note", "reply", "contact.view", "state"} <= set(kinds)


def test_reroute_and_filters(settings: Settings, engine: sa.Engine) -> None:
    client, case_id, h = _setup(settings, engine)
    url = f"/api/cases/{case_id}"
    assert client.get("/api/cases?state=archived", headers=h["ann"]).status_code == 422
    assert client.get("/api/cases?state=new", headers=h["ann"]).json()["cases"] != []
    assert client.get("/api/cases?overdue=true", headers=h["ann"]).json()["cases"] == []
    unknown = client.post(f"{url}/reroute", json={"department_id": 999}, headers=h["ann"])
    assert unknown.status_code == 422
    carl_department = client.get("/api/cases", headers=h["root"]).json()["cases"][0]
    assert carl_department["id"] == case_id
    moved = client.post(
        f"{url}/reroute", json={"department_id": 2, "note": "Handhaving"}, headers=h["ann"]
    )
    assert moved.status_code == 200
    assert client.get(url, headers=h["ann"]).status_code == 404
    assert client.get(url, headers=h["carl"]).status_code == 200
