"""The call-out API: create by point or postcode, the targets without names until accepted, the
live log with `after`, extend, close; bad input answered 422; the permission "callouts"."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.volunteers.services import build_services
from stadspuls.web.app import create_app
from tests.support.accounts import bearer
from tests.volunteers.callout_support import DOM, enlist

CALLOUT = {
    "title": "Wateroverlast Lombok",
    "message": "Zandzakken vullen bij de Kanaalstraat; neem handschoenen mee.",
    "lat": DOM[0],
    "lon": DOM[1],
    "radius_km": 5,
    "skills": ["lifting"],
    "wanted": 2,
}


@pytest.fixture
def api(settings: Settings, engine: sa.Engine) -> tuple[TestClient, list[int]]:
    app = create_app(settings, engine=engine)
    mails: list[EmailMessage] = []
    # The same keys as the app's (the settings' key files): the register's own door.
    volunteers = build_services(engine, settings, send_mail=mails.append).volunteers
    ids = [
        enlist(volunteers, mails, name, km, skills=("lifting",))
        for name, km in (("Anouk", 0.6), ("Bas", 1.1), ("Cor", 2.5))
    ]
    enlist(volunteers, mails, "Dirk", 0.2)  # no lifting
    return TestClient(app, headers=bearer(engine, "analyst")), ids


def test_create_list_targets_answer_extend_close(
    api: tuple[TestClient, list[int]], engine: sa.Engine
) -> None:
    client, _ = api
    created = client.post("/api/callouts", json=CALLOUT)
    assert created.status_code == 201, created.text
    callout = created.json()
    assert callout["state"] == "open"
    assert callout["created_by"] == "analyst"
    assert callout["place_label"] == "Utrecht"
    cid = callout["id"]
    assert [c["id"] for c in client.get("/api/callouts").json()] == [cid]
    assert client.get(f"/api/callouts/{cid}").json()["title"] == CALLOUT["title"]
    targets = client.get(f"/api/callouts/{cid}/targets").json()
    assert [t["rank"] for t in targets] == [1, 2]
    assert [t["reason"].split(";")[0] for t in targets] == ["0,6 km", "1,1 km"]
    assert all(t["name"] is None for t in targets)
    assert "volunteer_id" not in targets[0]  # staff see ranks, not who
    events = client.get(f"/api/callouts/{cid}/events").json()
    assert [e["kind"] for e in events] == ["created", "selected"]
    # An answer by link, then the live log from the last event seen.
    app_callouts = client.app.state.callouts  # type: ignore[attr-defined]
    app_callouts.answer(app_callouts.answer_token(targets[0]["id"], "accepted"))
    newer = client.get(f"/api/callouts/{cid}/events", params={"after": events[-1]["id"]}).json()
    assert [(e["kind"], e["details"]["answer"]) for e in newer] == [("answered", "accepted")]
    named = client.get(f"/api/callouts/{cid}/targets").json()
    assert [t["name"] for t in named] == ["Anouk", None]
    extended = client.post(f"/api/callouts/{cid}/extend", json={"more": 5})
    assert extended.json() == {"added": 1}
    closed = client.post(f"/api/callouts/{cid}/close", json={"note": "klaar"})
    assert closed.json()["state"] == "closed"
    assert client.post(f"/api/callouts/{cid}/close", json={}).status_code == 422
    assert client.post(f"/api/callouts/{cid}/extend", json={"more": 1}).status_code == 422
    assert client.get("/api/callouts", params={"state": "open"}).json() == []


def test_create_by_postcode_and_defaults(api: tuple[TestClient, list[int]]) -> None:
    client, _ = api
    body = {k: v for k, v in CALLOUT.items() if k not in ("lat", "lon", "wanted")}
    created = client.post("/api/callouts", json=body | {"postcode": "3511"})
    assert created.status_code == 201, created.text
    callout = created.json()
    assert callout["place_label"] == "3511 Utrecht"
    assert callout["wanted"] == 30  # like HartslagNu


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"lat": None, "lon": None, "postcode": "1000"}, "1000"),  # no such postcode (PO boxes)
        ({"lat": 50.85, "lon": 4.35}, "niet in Nederland"),  # Brussels
        ({"radius_km": 0}, "straal"),
        ({"radius_km": 500}, "straal"),
        ({"lat": None, "lon": None}, "punt"),  # no place at all
        ({"postcode": "3511"}, "één locatie"),  # a point and a postcode
        ({"expires_at": "2020-01-01T00:00:00Z"}, "toekomst"),
    ],
)
def test_bad_input_is_422_with_a_reason_and_stores_nothing(
    api: tuple[TestClient, list[int]], changes: dict[str, object], says: str
) -> None:
    client, _ = api
    refused = client.post("/api/callouts", json={**CALLOUT, **changes})
    assert refused.status_code == 422
    assert says in refused.text
    assert client.get("/api/callouts").json() == []


def test_unknown_call_out_and_permission(
    api: tuple[TestClient, list[int]], engine: sa.Engine
) -> None:
    client, _ = api
    assert client.get("/api/callouts/999").status_code == 404
    assert client.post("/api/callouts/999/close", json={}).status_code == 404
    viewer = bearer(engine, "viewer")
    assert client.get("/api/callouts", headers=viewer).status_code == 403
    assert client.post("/api/callouts", json=CALLOUT, headers=viewer).status_code == 403
    assert client.get("/api/callouts").json() == []
