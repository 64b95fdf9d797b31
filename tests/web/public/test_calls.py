"""Calls for tips on their public page: the call's own questions, answers stored with the case,
a required question, closed and unknown calls, and the QR code of the call's address."""

from __future__ import annotations

import io
from datetime import timedelta

import msgspec
import segno

from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.records import Call, CallQuestion
from stadspuls.records import utcnow
from tests.support.inbox import department
from tests.web.public.conftest import ADMIN, Public, jpeg

QUESTIONS = (
    CallQuestion(key="gezien", label="Wat heeft u gezien?", kind="text", required=True),
    CallQuestion(
        key="plek", label="Waar stond u?", kind="choice", choices=("Perron 1", "Stationsplein")
    ),
    CallQuestion(key="tijd", label="Hoe laat was dat?", kind="time"),
    CallQuestion(key="fotos", label="Uw foto's", kind="photo"),
)


def open_call(public: Public, slug: str = "brand-stationsstraat", **changes: object) -> Call:
    admin: CaseAdmin = public.client.app.state.case_admin  # type: ignore[attr-defined]
    wijk = department(public.engine, "politie-oost", "Politie Oost")
    assert wijk.id is not None
    call = Call(
        slug=slug,
        title="Getuigen gezocht: brand Stationsstraat, 12 mei",
        description="Heeft u de brand gezien of gefilmd?\n\nElke tip helpt.",
        department_id=wijk.id,
        questions=QUESTIONS,
        starts_at=utcnow() - timedelta(hours=1),
    )
    return admin.save_call(ADMIN, msgspec.structs.replace(call, **changes))


def test_the_call_page_shows_its_questions(public: Public) -> None:
    open_call(public)
    page = public.client.get("/oproep/brand-stationsstraat")
    assert page.status_code == 200
    html = page.text
    assert "Getuigen gezocht: brand Stationsstraat, 12 mei" in html
    assert "Elke tip helpt." in html
    assert '<label for="q_gezien">Wat heeft u gezien?</label>' in html
    assert 'value="Perron 1"' in html
    assert 'value="Stationsplein"' in html
    assert 'type="datetime-local" id="q_tijd"' in html
    assert 'type="file" id="q_fotos" name="q_fotos"' in html
    assert 'name="kind" value="tip"' in html


def test_answers_are_stored_with_the_case_under_the_call(public: Public) -> None:
    call = open_call(public)
    data = {
        "csrf": public.csrf(),
        "text": "Ik zag rook uit het dak komen.",
        "q_gezien": "Een man rende weg met een jerrycan.",
        "q_plek": "Perron 1",
        "q_tijd": "2026-05-12T14:30",
        "consent": "1",
    }
    photo = [("q_fotos", ("brand.jpg", jpeg(), "image/jpeg"))]
    sent = public.client.post(
        "/oproep/brand-stationsstraat", data=data, files=photo, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    (case,) = public.stored()
    assert (case.kind, case.call_id, case.media_count) == ("tip", call.id, 1)
    assert case.answers == {
        "gezien": "Een man rende weg met een jerrycan.",
        "plek": "Perron 1",
        "tijd": "2026-05-12T14:30+02:00",
        "fotos": "brand.jpg",
    }
    thanks = public.client.get(sent.headers["location"])
    assert 'href="/oproep/brand-stationsstraat"' in thanks.text


def test_a_required_question_and_a_wrong_choice_are_named(public: Public) -> None:
    open_call(public)
    data = {"csrf": public.csrf(), "text": "Rook gezien.", "q_plek": "Op het dak"}
    refused = public.client.post("/oproep/brand-stationsstraat", data=data)
    assert refused.status_code == 422
    assert 'href="#q_gezien"' in refused.text
    assert 'href="#q_plek"' in refused.text
    assert "Rook gezien." in refused.text
    assert public.stored() == []


def test_closed_ended_and_unknown_calls_get_a_friendly_page(public: Public) -> None:
    open_call(public, "gesloten", closed=True)
    open_call(public, "afgelopen", ends_at=utcnow() - timedelta(minutes=1))
    for slug in ("gesloten", "afgelopen", "bestaat-niet"):
        page = public.client.get(f"/oproep/{slug}")
        assert page.status_code == 404
        assert "Deze oproep is gesloten" in page.text
        assert 'href="/melden"' in page.text
    data = {"csrf": public.csrf(), "text": "Toch nog een tip."}
    late = public.client.post("/oproep/gesloten", data=data)
    assert late.status_code == 410
    assert public.stored() == []


def test_the_qr_code_holds_the_calls_public_address(public: Public) -> None:
    open_call(public)
    qr = public.client.get("/oproep/brand-stationsstraat/qr.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"] == "image/svg+xml"
    assert qr.text.startswith("<svg")
    assert "<title>Getuigen gezocht: brand Stationsstraat, 12 mei</title>" in qr.text
    assert public.client.get("/oproep/bestaat-niet/qr.svg").status_code == 404


def test_the_qr_code_is_the_configured_public_address(public: Public) -> None:
    call = open_call(public)
    public.settings.inbox.public_url = "https://melden.example.nl"
    qr = public.client.get("/oproep/brand-stationsstraat/qr.svg")
    # The same symbol as segno draws for the expected address (segno is deterministic), and
    # not the one for the test client's own base URL.
    expected, local = io.BytesIO(), io.BytesIO()
    segno.make(f"https://melden.example.nl/oproep/{call.slug}", error="m").save(
        expected, kind="svg", scale=8, border=4, xmldecl=False, title=call.title
    )
    segno.make(f"http://testserver/oproep/{call.slug}", error="m").save(
        local, kind="svg", scale=8, border=4, xmldecl=False, title=call.title
    )
    assert qr.content == expected.getvalue()
    assert qr.content != local.getvalue()
