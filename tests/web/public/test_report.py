"""POST /melden end to end on the real app: text only, two photos, bad files, missing consent,
an expired form, a body past the cap; the receipt shows the status link once."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.cases.records import OfficeHours
from stadspuls.settings import Settings
from tests.support.inbox import department
from tests.web.public.conftest import ADMIN, Public, jpeg, public_app, public_settings, status_link

TEXT = "Er staat al drie dagen een kapotte bank bij de speeltuin aan de Lindelaan."


def fields(csrf: str, **extra: str) -> dict[str, str]:
    return {"csrf": csrf, "kind": "question", "category": "openbare-ruimte", "text": TEXT, **extra}


def test_the_form_is_dutch_by_default_and_english_when_asked(public: Public) -> None:
    dutch = public.client.get("/melden")
    assert dutch.status_code == 200
    assert '<html lang="nl">' in dutch.text
    assert "Stel een vraag of doe een melding" in dutch.text
    assert "Gebruik mijn locatie" in dutch.text
    assert "Afval en zwerfvuil" in dutch.text
    assert "Wij bewaren uw internetadres (IP-adres) niet." in dutch.text
    assert 'accept="image/*,video/*"' in dutch.text
    assert "multiple" in dutch.text
    assert dutch.headers["cache-control"] == "no-store"
    assert dutch.headers["referrer-policy"] == "no-referrer"
    browser = public.client.get("/melden", headers={"Accept-Language": "en-GB,en;q=0.9,nl;q=0.5"})
    assert '<html lang="en">' in browser.text
    assert "Ask a question or report something" in browser.text
    switched = public.client.get("/melden?lang=en", headers={"Accept-Language": "nl"})
    assert "Use my location" in switched.text


def test_every_field_has_a_label(public: Public) -> None:
    html = public.client.get("/melden").text
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    hidden = set(re.findall(r'<input type="hidden"[^>]*\bid="([^"]+)"', html))
    for field in set(ids) - hidden:
        assert f'for="{field}"' in html, f"no label for {field}"


def test_a_question_with_text_only_becomes_a_case_and_a_receipt(public: Public) -> None:
    sent = public.client.post("/melden", data=fields(public.csrf()), follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/melden/bedankt?ref=")
    receipt = public.client.get(sent.headers["location"])
    assert receipt.status_code == 200
    (case,) = public.stored()
    assert (case.channel, case.kind, case.category, case.text) == (
        "web",
        "question",
        "openbare-ruimte",
        TEXT,
    )
    assert case.reference in receipt.text
    assert "Bewaar deze link" in receipt.text
    assert receipt.headers["referrer-policy"] == "no-referrer"
    link = status_link(receipt.text)
    status = public.client.get(link)
    assert status.status_code == 200
    assert case.reference in status.text
    # Shown once: the receipt again has the reference, not the link.
    again = public.client.get(sent.headers["location"])
    assert case.reference in again.text
    assert "/status/" not in again.text


def test_a_tip_with_two_photos(public: Public) -> None:
    photos = [
        ("media", ("IMG_0001.jpg", jpeg((200, 30, 30)), "image/jpeg")),
        ("media", ("IMG_0002.jpg", jpeg((30, 30, 200)), "image/jpeg")),
    ]
    data = fields(public.csrf(), kind="tip", consent="1", address="Lindelaan 4, Eindhoven")
    sent = public.client.post("/melden", data=data, files=photos, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    (case,) = public.stored()
    assert (case.kind, case.media_count, case.address) == ("tip", 2, "Lindelaan 4, Eindhoven")
    view = public.cases.view(ADMIN, case.id)
    assert sorted(m.filename for m in view.media) == ["IMG_0001.jpg", "IMG_0002.jpg"]
    assert {m.content_type for m in view.media} == {"image/jpeg"}


def test_bad_files_come_back_as_clear_errors_with_the_text_kept(public: Public) -> None:
    truncated = jpeg()[:300]
    files = [
        ("media", ("foto.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")),
        ("media", ("half.jpg", truncated, "image/jpeg")),
        ("media", ("good.jpg", jpeg(), "image/jpeg")),
    ]
    data = fields(public.csrf(), consent="1", email="iemand@example.nl", name="Iemand")
    sent = public.client.post("/melden", data=data, files=files)
    assert sent.status_code == 422
    html = sent.text
    assert "Er zijn 2 problemen" in html
    assert "foto.jpg: Dit bestand is geen foto of video" in html
    assert "half.jpg: Dit bestand is beschadigd of onvolledig" in html
    assert "good.jpg" not in html.split('id="error-summary"')[1].split("</div>")[0]
    assert TEXT in html
    assert 'value="iemand@example.nl"' in html
    assert 'value="Iemand"' in html
    assert "kies uw foto&#39;s en video&#39;s opnieuw" in html
    assert public.stored() == []


def test_contact_details_or_photos_need_consent(public: Public) -> None:
    data = fields(public.csrf(), email="iemand@example.nl")
    refused = public.client.post("/melden", data=data)
    assert refused.status_code == 422
    assert 'href="#consent"' in refused.text
    assert 'id="consent-error"' in refused.text
    assert TEXT in refused.text
    assert public.stored() == []
    photo = [("media", ("a.jpg", jpeg(), "image/jpeg"))]
    refused = public.client.post("/melden", data=fields(public.csrf()), files=photo)
    assert refused.status_code == 422
    assert public.stored() == []
    # Anonymous and without photos, no consent is needed.
    taken = public.client.post("/melden", data=fields(public.csrf()), follow_redirects=False)
    assert taken.status_code == 303


def test_empty_text_and_wrong_values_are_named_and_linked(public: Public) -> None:
    data = fields(public.csrf(), text=" ", email="geen-adres", occurred="2999-01-01T10:00")
    data["category"] = "iets"
    refused = public.client.post("/melden", data=data, headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    for field in ("category", "text", "occurred", "email"):
        assert f'href="#{field}"' in refused.text
        assert f'id="{field}-error"' in refused.text
    assert "This time is in the future." in refused.text
    assert public.stored() == []


def test_a_form_without_its_token_is_refused_and_kept(public: Public) -> None:
    public.csrf()
    refused = public.client.post("/melden", data=fields("forged"))
    assert refused.status_code == 403
    assert TEXT in refused.text
    assert public.stored() == []


def test_the_same_form_sent_twice_is_one_case(public: Public) -> None:
    data = fields(public.csrf(), submission="Abcdefghijklmnopqrstuvwx")
    first = public.client.post("/melden", data=data, follow_redirects=False)
    second = public.client.post("/melden", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert len(public.stored()) == 1


def test_a_body_past_the_cap_is_refused_before_it_is_read(
    settings: Settings, engine: sa.Engine
) -> None:
    configured = public_settings(settings, engine, max_file_mb=1, max_files=1)
    with public_app(configured, engine) as app, TestClient(app) as client:
        client.get("/melden")
        big = [("media", ("groot.jpg", b"\xff" * (3 * 1024 * 1024), "image/jpeg"))]
        data = {"csrf": client.cookies.get("stadspuls_public_csrf") or "", "text": TEXT}
        refused = client.post("/melden", data=data, files=big)
        assert refused.status_code == 413
        assert "Uw melding is te groot" in refused.text


def test_outside_office_hours_the_receipt_shows_the_automatic_reply(public: Public) -> None:
    # The fallback department, made before the first report, with a desk that is never open.
    department(public.engine, "algemeen", "Algemeen", hours=OfficeHours(week={}))
    sent = public.client.post("/melden", data=fields(public.csrf()))
    assert sent.status_code == 200
    (case,) = public.stored()
    (auto,) = [m for m in public.cases.view(ADMIN, case.id).messages if m.direction == "out"]
    assert "Wanneer wij antwoorden" in sent.text
    first_line = auto.text.split("\n")[0]
    assert first_line
    assert first_line in sent.text
    assert "112" in auto.text


def test_posts_without_a_submission_id_are_separate_reports(public: Public) -> None:
    for _ in range(2):
        sent = public.client.post("/melden", data=fields(public.csrf()), follow_redirects=False)
        assert sent.status_code == 303
    assert len(public.stored()) == 2
