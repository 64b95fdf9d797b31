"""The inbox settings pages through the real login form: admins set up departments and rules,
analysts of a department its templates and calls; forms need their CSRF field."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.access.roles import SYSTEM
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.records import Department, InboundMessage
from stadspuls.cases.replies import PLACEHOLDERS
from stadspuls.settings import Settings
from stadspuls.store import audit, users
from stadspuls.web.app import create_app
from stadspuls.web.i18n import catalogue
from tests.support.login import add_user, csrf_of, login

ADMIN_PAGES = ("/inbox/settings", "/inbox/settings/departments/new", "/inbox/settings/rules/new")
STAFF_PAGES = (
    "/inbox/settings/rules",
    "/inbox/settings/templates",
    "/inbox/settings/templates/new",
    "/calls",
    "/calls/new",
)


def client(settings: Settings, engine: sa.Engine, username: str, role: str) -> TestClient:
    add_user(engine, username, role)
    browser = TestClient(create_app(settings, engine=engine))
    assert login(browser, username).status_code == 303
    return browser


def user_id(engine: sa.Engine, username: str) -> int:
    user = users.find_user(engine, username)
    assert user is not None
    assert user.id is not None
    return user.id


def form_of(browser: TestClient, path: str) -> str:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def test_pages_render_for_admins_and_refuse_other_roles(
    settings: Settings, engine: sa.Engine
) -> None:
    admin = client(settings, engine, "beheer", "admin")
    for path in ADMIN_PAGES + STAFF_PAGES:
        page = admin.get(path)
        assert page.status_code == 200, path
        assert '<html lang="nl"' in page.text
    analyst = client(settings, engine, "ana", "analyst")
    for path in ADMIN_PAGES:
        assert analyst.get(path).status_code == 403, path
    for path in STAFF_PAGES:
        assert analyst.get(path).status_code == 200, path
    viewer = client(settings, engine, "kijker", "viewer")
    for path in ADMIN_PAGES + STAFF_PAGES:
        refused = viewer.get(path)
        assert refused.status_code == 403, path
        assert "niet toegankelijk voor uw rol" in refused.text
    anonymous = TestClient(create_app(settings, engine=engine))
    assert anonymous.get("/calls", follow_redirects=False).status_code == 303


def test_a_department_with_hours_and_members_through_the_form(
    settings: Settings, engine: sa.Engine
) -> None:
    admin = client(settings, engine, "beheer", "admin")
    ana = add_user(engine, "ana", "analyst")
    csrf = form_of(admin, "/inbox/settings/departments/new")
    fields = {
        "name": "Wijkzaken", "slug": "wijkzaken", "day-0": "08:30-12:00, 13:00-17:00",
        "day-5": "10:00-24:00", "first_response_hours": "4", "resolution_hours": "",
        "retention_days": "1825", "members": str(ana.id), "active": "1",
    }  # fmt: skip
    without = admin.post("/inbox/settings/departments/new", data=fields)
    assert without.status_code == 403
    saved = admin.post(
        "/inbox/settings/departments/new", data={**fields, "csrf": csrf}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    listing = admin.get("/inbox/settings").text
    assert "ma 08:30–12:00, 13:00–17:00; za 10:00–24:00; feestdagen gesloten" in listing
    department = CaseAdmin(engine, settings).my_departments(SYSTEM)
    wijk = next(d for d in department if d.slug == "wijkzaken")
    assert wijk.resolution_hours is None
    assert CaseAdmin(engine, settings).members(SYSTEM, wijk.id or 0) == [ana.id]
    bad = admin.post(
        f"/inbox/settings/departments/{wijk.id}",
        data={**fields, "day-1": "17:00-09:00", "csrf": csrf},
    )
    assert bad.status_code == 422
    assert "Tue: 17:00–09:00 eindigt voordat het begint" in bad.text
    assert 'value="17:00-09:00"' in bad.text  # what was typed stays


def test_rules_page_saves_moves_and_tests_a_message(settings: Settings, engine: sa.Engine) -> None:
    admin = client(settings, engine, "beheer", "admin")
    case_admin = CaseAdmin(engine, settings)
    afval = case_admin.save_department(SYSTEM, Department(slug="afval", name="Afval"))
    csrf = form_of(admin, "/inbox/settings/rules/new")
    rule = {"name": "Afval Eindhoven", "department_id": str(afval.id), "query": "afval OR (vuil",
            "places": "Eindhoven", "active": "1", "csrf": csrf}  # fmt: skip
    refused = admin.post("/inbox/settings/rules/new", data=rule)
    assert refused.status_code == 422
    assert "query-error" in refused.text
    for name, query in (("Afval Eindhoven", "afval OR vuilnis"), ("Alles", "")):
        done = admin.post(
            "/inbox/settings/rules/new",
            data={**rule, "name": name, "query": query},
            follow_redirects=False,
        )
        assert done.status_code == 303
    tested = admin.get(
        "/inbox/settings/rules", params={"text": "De vuilnis is niet opgehaald in Eindhoven"}
    )
    assert "regel &#39;Afval Eindhoven&#39;: zoekvraag" in tested.text
    assert re.search(r'<tr id="rule-\d+" class="fired">', tested.text)
    first, second = case_admin.rules(SYSTEM)
    moved = admin.post(
        f"/inbox/settings/rules/{second.id}/move",
        data={"direction": "up", "csrf": csrf},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert [r.id for r in case_admin.rules(SYSTEM)] == [second.id, first.id]
    unknown = admin.get("/inbox/settings/rules", params={"text": "x", "place": "Atlantis"})
    assert "Atlantis" in unknown.text
    admin.post(f"/inbox/settings/rules/{second.id}/delete", data={"csrf": csrf})
    assert [r.id for r in case_admin.rules(SYSTEM)] == [first.id]


def test_templates_preview_and_a_review_by_someone_else(
    settings: Settings, engine: sa.Engine
) -> None:
    ana = client(settings, engine, "ana", "analyst")
    bob = client(settings, engine, "bob", "analyst")
    case_admin = CaseAdmin(engine, settings)
    wijk = case_admin.save_department(SYSTEM, Department(slug="wijk", name="Wijkteam"))
    case_admin.set_members(SYSTEM, wijk.id or 0, [user_id(engine, "ana"), user_id(engine, "bob")])
    csrf = form_of(ana, "/inbox/settings/templates/new")
    fields = {"name": "parkeren", "language": "nl", "department_id": str(wijk.id),
              "subject": "Parkeren ({referentie})", "body": "{aanhef}\n\nDe {afdeling} helpt u.",
              "csrf": csrf}  # fmt: skip
    preview = ana.post("/inbox/settings/templates/preview", data=fields)
    assert "Beste Jan Jansen," in preview.text
    assert "De Wijkteam helpt u." in preview.text
    wrong = ana.post("/inbox/settings/templates/preview", data={**fields, "body": "{voornaam}"})
    assert "{voornaam}" in wrong.text
    assert (
        ana.post("/inbox/settings/templates/new", data={**fields, "body": "{x}"}).status_code == 422
    )
    saved = ana.post("/inbox/settings/templates/new", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    template = next(t for t in case_admin.templates(SYSTEM) if t.name == "parkeren")
    listing = ana.get("/inbox/settings/templates").text
    assert "wacht op controle" in listing
    own = ana.post(f"/inbox/settings/templates/{template.id}/review", data={"csrf": csrf})
    assert own.status_code == 422
    bob_csrf = form_of(bob, "/inbox/settings/templates")
    reviewed = bob.post(
        f"/inbox/settings/templates/{template.id}/review",
        data={"csrf": bob_csrf},
        follow_redirects=False,
    )
    assert reviewed.status_code == 303
    assert "gecontroleerd door bob op" in bob.get("/inbox/settings/templates").text
    _total, entries = audit.list_entries(engine, actions=["template.save", "template.review"])
    assert [e.actor for e in reversed(entries)] == ["ana", "bob"]


def test_a_call_with_questions_its_link_and_qr_code(settings: Settings, engine: sa.Engine) -> None:
    ana = client(settings, engine, "ana", "analyst")
    case_admin = CaseAdmin(engine, settings)
    politie = case_admin.save_department(SYSTEM, Department(slug="politie", name="Politie"))
    case_admin.set_members(SYSTEM, politie.id or 0, [user_id(engine, "ana")])
    csrf = form_of(ana, "/calls/new")
    fields = {
        "title": "Getuigen gezocht: brand Stationsstraat", "slug": "brand-stationsstraat",
        "department_id": str(politie.id), "starts_at": "2026-12-01T08:00",
        "ends_at": "2026-12-31T23:00", "incident_at": "2026-11-30T22:15",
        "lat": "51.4416", "lon": "5.4697",
        "q-0-label": "Wat zag u?", "q-0-key": "gezien", "q-0-kind": "text", "q-0-required": "1",
        "q-1-label": "Waar stond u?", "q-1-key": "waar", "q-1-kind": "choice",
        "q-1-choices": "Noordzijde, Zuidzijde", "csrf": csrf,
    }  # fmt: skip
    one_choice = ana.post("/calls/new", data={**fields, "q-1-choices": "Noordzijde"})
    assert one_choice.status_code == 422
    assert "vraag &#39;waar&#39; heeft minstens twee keuzes nodig" in one_choice.text
    assert 'value="Wat zag u?"' in one_choice.text
    created = ana.post("/calls/new", data=fields, follow_redirects=False)
    assert created.status_code == 303, created.text
    page = ana.get(created.headers["location"])
    assert "http://127.0.0.1:8000/oproep/brand-stationsstraat" in page.text
    assert "<svg" in page.text
    assert "Noordzijde · Zuidzijde" in page.text
    (call,) = case_admin.calls(SYSTEM)
    assert call.starts_at.isoformat() == "2026-12-01T07:00:00+00:00"  # 08:00 in Amsterdam
    assert [q.key for q in call.questions] == ["gezien", "waar"]
    assert "Getuigen gezocht" in ana.get("/calls").text
    assert "Nog geen tips." in page.text
    receipt = ana.app.state.cases.receive(  # type: ignore[attr-defined]
        InboundMessage(
            channel="web",
            external_id="tip-1",
            received_at=datetime.now(UTC),
            kind="tip",
            text="Ik zag rook uit het tweede raam",
            call_slug="brand-stationsstraat",
            answers={"gezien": "rook", "waar": "Zuidzijde"},
            consent=True,
        )
    )
    with_tip = ana.get(created.headers["location"]).text
    assert receipt.reference in with_tip
    assert "Ik zag rook uit het tweede raam" in with_tip


def test_every_placeholder_is_explained_in_dutch() -> None:
    dutch = catalogue("nl")
    untranslated = [m for m in PLACEHOLDERS.values() if dutch.gettext(m) == m]
    assert untranslated == []
