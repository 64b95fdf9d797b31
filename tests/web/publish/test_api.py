"""/api/publications and /api/publish over the real app on each database: 401 anonymous, 403
without the permission, 404 unknown, 409 for a state conflict (four eyes), 422 with the field,
and the work itself: compose, preview, submit, approve, history, deliveries, templates, crisis."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.records import utcnow
from stadspuls.settings import Settings
from stadspuls.web.app import create_app
from tests.support.accounts import bearer

DRAFT = {
    "title": "Brand in Utrecht: sluit ramen en deuren",
    "body": "Er is een grote brand aan de Vaartsche Rijn. Sluit ramen en deuren.",
    "targets": ["news"],
}


def _client(settings: Settings, engine: sa.Engine) -> tuple[TestClient, dict[str, dict[str, str]]]:
    client = TestClient(create_app(settings, engine=engine))
    headers = {
        "ann": bearer(engine, "analyst", name="ann"),
        "root": bearer(engine, "admin", name="root"),
        "boss": bearer(engine, "admin", name="boss"),
        "vera": bearer(engine, "viewer", name="vera"),
    }
    return client, headers


def test_compose_submit_and_approve_by_someone_else(settings: Settings, engine: sa.Engine) -> None:
    client, h = _client(settings, engine)
    assert client.get("/api/publications").status_code == 401
    assert client.get("/api/publications", headers=h["vera"]).status_code == 403
    created = client.post("/api/publications", json=DRAFT, headers=h["root"])
    assert created.status_code == 201, created.text
    body = created.json()
    pid = body["id"]
    assert (body["state"], body["created_by"]) == ("draft", "root")
    assert body["slug"] == "brand-in-utrecht-sluit-ramen-en-deuren"
    submitted = client.post(f"/api/publications/{pid}/submit", headers=h["root"])
    assert submitted.json()["state"] == "pending"
    # Four eyes: not by its author (409), not by an analyst (403).
    own = client.post(f"/api/publications/{pid}/approve", headers=h["root"])
    assert own.status_code == 409
    assert "four eyes" in own.json()["detail"]
    assert client.post(f"/api/publications/{pid}/approve", headers=h["ann"]).status_code == 403
    approved = client.post(f"/api/publications/{pid}/approve", headers=h["boss"])
    assert approved.status_code == 200, approved.text
    assert (approved.json()["state"], approved.json()["approved_by"]) == ("published", "boss")
    events = client.get(f"/api/publications/{pid}/events", headers=h["ann"]).json()
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("created", "root"), ("submitted", "root"), ("approved", "boss"), ("published", "system"),
    ]  # fmt: skip
    deliveries = client.get(f"/api/publications/{pid}/deliveries", headers=h["ann"]).json()
    assert [(d["target"], d["state"]) for d in deliveries] == [("news", "pending")]
    listed = client.get("/api/publications", params={"state": "published"}, headers=h["ann"])
    assert [p["id"] for p in listed.json()["publications"]] == [pid]
    responses = client.get(f"/api/publications/{pid}/responses", headers=h["ann"]).json()
    assert len(responses) == 1
    assert responses[0]["replies"] == 0
    assert responses[0]["monitor_posts"] is None
    edit = client.put(f"/api/publications/{pid}", json=DRAFT, headers=h["root"])
    assert edit.status_code == 409
    assert client.get("/api/publications/999", headers=h["ann"]).status_code == 404


def test_bad_input_is_422_with_the_field(settings: Settings, engine: sa.Engine) -> None:
    client, h = _client(settings, engine)
    cases = [
        ({**DRAFT, "body": "  "}, "body"),
        ({**DRAFT, "targets": ["news", "myspace"]}, "targets"),
        (
            {**DRAFT, "media": [{"sha256": "a" * 64, "content_type": "image/png", "alt": ""}]},
            "media",
        ),
        ({**DRAFT, "scheduled_at": (utcnow() - timedelta(hours=1)).isoformat()}, "scheduled_at"),
        ({**DRAFT, "scheduled_at": "2030-01-01T10:00:00"}, "scheduled_at"),  # no time zone
        ({**DRAFT, "monitor_id": 12345}, "monitor_id"),
        ({**DRAFT, "scheduled_at": "9999-12-31T23:59:59-14:00"}, "scheduled_at"),
    ]
    for draft, field in cases:
        refused = client.post("/api/publications", json=draft, headers=h["ann"])
        assert refused.status_code == 422, (draft, refused.text)
        assert refused.json()["field"] == field
    assert client.get("/api/publications", headers=h["ann"]).json()["publications"] == []


def test_preview_per_channel_without_saving(settings: Settings, engine: sa.Engine) -> None:
    client, h = _client(settings, engine)
    previews = client.post("/api/publications/preview", json=DRAFT, headers=h["ann"])
    assert previews.status_code == 200, previews.text
    (news,) = previews.json()
    assert (news["target"], news["fits"], news["limit"]) == ("news", True, None)
    assert news["parts"] == [DRAFT["body"]]
    assert news["card_title"] == DRAFT["title"]
    assert client.get("/api/publications", headers=h["ann"]).json()["publications"] == []


def test_templates_and_crisis_need_approve(settings: Settings, engine: sa.Engine) -> None:
    client, h = _client(settings, engine)
    template = {"title": "Brand in {plaats}", "body": "Er is brand in {plaats}. {advies}."}
    assert client.put("/api/publish/templates/brand", json=template,
                      headers=h["ann"]).status_code == 403  # fmt: skip
    unknown = client.put("/api/publish/templates/brand", json={**template, "body": "{naam}"},
                         headers=h["root"])  # fmt: skip
    assert unknown.status_code == 422
    assert "unknown placeholder" in unknown.json()["detail"]
    saved = client.put("/api/publish/templates/brand", json=template, headers=h["root"])
    assert saved.status_code == 200, saved.text
    assert [t["name"] for t in client.get("/api/publish/templates", headers=h["ann"]).json()] == [
        "brand"
    ]
    values = {"plaats": "Utrecht", "advies": "Sluit ramen"}
    filled = client.post(
        "/api/publish/templates/brand/fill", headers=h["ann"], json={"values": values}
    )
    assert filled.status_code == 200, filled.text
    assert filled.json() == {
        "template": "brand",
        "title": "Brand in Utrecht",
        "body": "Er is brand in Utrecht. Sluit ramen.",
        "lang": "nl",
    }
    unfilled = client.post("/api/publish/templates/brand/fill", headers=h["ann"],
                           json={"values": {"plaats": "Utrecht"}})  # fmt: skip
    assert unfilled.status_code == 422
    assert "{advies}" in unfilled.json()["detail"]
    assert client.post("/api/publish/templates/nope/fill", json={},
                       headers=h["ann"]).status_code == 404  # fmt: skip
    assert client.delete("/api/publish/templates/brand", headers=h["root"]).status_code == 204
    assert client.delete("/api/publish/templates/brand", headers=h["root"]).status_code == 404

    assert client.get("/api/publish/crisis", headers=h["ann"]).json() is None
    crisis = {"reason": "Grote brand Vaartsche Rijn", "hours": 2}
    assert client.post("/api/publish/crisis", json=crisis, headers=h["ann"]).status_code == 403
    declared = client.post("/api/publish/crisis", json=crisis, headers=h["root"])
    assert declared.status_code == 201, declared.text
    assert client.get("/api/publish/crisis", headers=h["ann"]).json()["declared_by"] == "root"
    # In crisis mode the author may approve their own, and it says so.
    pid = client.post("/api/publications", json=DRAFT, headers=h["root"]).json()["id"]
    client.post(f"/api/publications/{pid}/submit", headers=h["root"])
    approved = client.post(f"/api/publications/{pid}/approve", headers=h["root"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["crisis"] is True
    assert client.delete("/api/publish/crisis", headers=h["root"]).status_code == 204
    assert client.delete("/api/publish/crisis", headers=h["root"]).status_code == 409
    too_long = client.post("/api/publish/crisis", json={**crisis, "hours": 100}, headers=h["root"])
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "hours"


def test_reject_and_cancel(settings: Settings, engine: sa.Engine) -> None:
    client, h = _client(settings, engine)
    pid = client.post("/api/publications", json=DRAFT, headers=h["ann"]).json()["id"]
    client.post(f"/api/publications/{pid}/submit", headers=h["ann"])
    assert client.post(f"/api/publications/{pid}/reject", json={"reason": " "},
                       headers=h["root"]).status_code == 422  # fmt: skip
    rejected = client.post(
        f"/api/publications/{pid}/reject", json={"reason": "Noem de straat"}, headers=h["root"]
    )
    assert rejected.json()["rejected_reason"] == "Noem de straat"
    edited = client.put(f"/api/publications/{pid}", json={**DRAFT, "body": "Vaartsche Rijn 12."},
                        headers=h["ann"])  # fmt: skip
    assert edited.json()["state"] == "draft"
    cancelled = client.post(f"/api/publications/{pid}/cancel", headers=h["ann"])
    assert cancelled.json()["state"] == "cancelled"
    assert client.post(f"/api/publications/{pid}/cancel", headers=h["ann"]).status_code == 409
