"""The staff's publishing pages through the real app and service: compose with a preview per
channel, submit, a second person approves, and it is on the public news page; the four-eyes
rule, crisis mode, permissions, and errors shown beside their field."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from httpx2 import Response

from stadspuls.access.roles import cli_actor
from tests.web.publish.conftest import Newsroom, csrf_of, jpeg

READER = cli_actor("test")
TEXT = "De Kerkstraat is vanaf maandag 8 december afgesloten voor autoverkeer."


def compose(
    client: TestClient, *, files: dict[str, tuple[str, bytes, str]] | None = None, **fields: object
) -> tuple[int, str, str]:
    """Post the compose form as the page gives it (its CSRF token): status, location, page."""
    page = client.get("/publicaties/nieuw")
    assert page.status_code == 200
    data: dict[str, object] = {
        "csrf": csrf_of(page.text),
        "title": "Kerkstraat afgesloten",
        "body": TEXT,
        "targets": ["news"],
        "action": "submit",
    }
    data.update(fields)
    answer = client.post("/publicaties/nieuw", data=data, files=files or {})
    return answer.status_code, answer.headers.get("location", ""), answer.text


def act(client: TestClient, publication_id: int, action: str, **fields: str) -> Response:
    page = client.get(f"/publicaties/{publication_id}")
    return client.post(
        f"/publicaties/{publication_id}/{action}", data={"csrf": csrf_of(page.text), **fields}
    )


def id_of(location: str) -> int:
    found = re.match(r"^/publicaties/(\d+)\?done=", location)
    assert found is not None, location
    return int(found.group(1))


def test_compose_preview_submit_approve_publish(newsroom: Newsroom) -> None:
    anna, chef = newsroom.session("anna"), newsroom.session("chef")
    page = anna.get("/publicaties/nieuw")
    assert 'name="targets" value="news"' in page.text
    assert 'hx-post="/publicaties/voorbeeld"' in page.text
    # The live preview: the text as the news channel shows it, with its count.
    preview = anna.post(
        "/publicaties/voorbeeld",
        data={"title": "Kerkstraat afgesloten", "body": TEXT, "targets": ["news"]},
    )
    assert preview.status_code == 200
    assert TEXT in preview.text
    assert 'class="preview preview-news' in preview.text
    # Submitted with an image and its alt text.
    status, location, _ = compose(
        anna,
        files={"image": ("kerkstraat.jpg", jpeg(), "image/jpeg")},
        image_alt="Afzetting met hekken in de Kerkstraat",
    )
    assert status == 303, _
    publication_id = id_of(location)
    detail = anna.get(location)
    assert "Afzetting met hekken in de Kerkstraat" in detail.text
    stored = newsroom.service.published_one(publication_id)
    assert stored is None  # not yet: it waits for approval
    # The author sees no approve button; the second person does, and approves.
    assert "/goedkeuren" not in detail.text
    assert "/goedkeuren" in chef.get(f"/publicaties/{publication_id}").text
    approved = act(chef, publication_id, "goedkeuren")
    assert approved.status_code == 303
    published = newsroom.service.published_one(publication_id)
    assert published is not None
    assert published.approved_by == "chef"
    assert published.media[0].alt == "Afzetting met hekken in de Kerkstraat"
    # On the published tab: the news channel still to be sent (no outbox runs in this test).
    published_tab = chef.get("/publicaties?tab=published").text
    assert f'id="pub-{publication_id}"' in published_tab
    assert "1 kanaal wordt nog verstuurd" in published_tab
    # The history says who did what.
    history = chef.get(f"/publicaties/{publication_id}").text
    assert "anna" in history
    assert "chef" in history
    # And the public news page shows it, with the image's alt text.
    public = newsroom.public()
    listing = public.get("/nieuws")
    assert "Kerkstraat afgesloten" in listing.text
    item = public.get(f"/nieuws/{publication_id}-{published.slug}")
    assert item.status_code == 200
    assert 'alt="Afzetting met hekken in de Kerkstraat"' in item.text
    image = public.get(f"/nieuws/{publication_id}/beeld/{published.media[0].sha256}")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"


def test_self_approval_is_refused_outside_crisis_mode(newsroom: Newsroom) -> None:
    beheer = newsroom.session("beheer")
    status, location, _ = compose(beheer)
    assert status == 303
    publication_id = id_of(location)
    assert "/goedkeuren" not in beheer.get(location).text  # the page says why instead
    refused = act(beheer, publication_id, "goedkeuren")
    assert refused.status_code == 409
    assert newsroom.service.published_one(publication_id) is None
    # In a declared crisis the author may approve their own (logged as such).
    listing = beheer.get("/publicaties")
    declared = beheer.post(
        "/publicaties/crisis",
        data={"csrf": csrf_of(listing.text), "reason": "Grote brand", "hours": "2"},
    )
    assert declared.status_code == 303
    assert "crisis-banner" in beheer.get("/publicaties").text
    approved = act(beheer, publication_id, "goedkeuren")
    assert approved.status_code == 303
    published = newsroom.service.published_one(publication_id)
    assert published is not None
    assert published.crisis
    ended = beheer.post(
        "/publicaties/crisis/einde", data={"csrf": csrf_of(beheer.get("/publicaties").text)}
    )
    assert ended.status_code == 303
    assert newsroom.service.crisis() is None


def test_reject_needs_a_reason_and_the_author_sees_it(newsroom: Newsroom) -> None:
    anna, chef = newsroom.session("anna"), newsroom.session("chef")
    _status, location, _ = compose(anna)
    publication_id = id_of(location)
    empty = act(chef, publication_id, "afkeuren", reason="  ")
    assert empty.status_code == 422
    rejected = act(chef, publication_id, "afkeuren", reason="Noem de omleiding.")
    assert rejected.status_code == 303
    page = anna.get(f"/publicaties/{publication_id}")
    assert "Noem de omleiding." in page.text
    assert f"/publicaties/{publication_id}/bewerken" in page.text
    # She mends it and submits it again.
    form = anna.get(f"/publicaties/{publication_id}/bewerken")
    assert TEXT in form.text
    mended = anna.post(
        f"/publicaties/{publication_id}/bewerken",
        data={
            "csrf": csrf_of(form.text),
            "title": "Kerkstraat afgesloten",
            "body": TEXT + " Omleiding via de Singel.",
            "targets": ["news"],
            "action": "submit",
        },
    )
    assert mended.status_code == 303
    again = newsroom.service.get(READER, publication_id)
    assert again.state == "pending"
    assert again.body.endswith("Omleiding via de Singel.")


def test_permissions(newsroom: Newsroom) -> None:
    anna, kees = newsroom.session("anna"), newsroom.session("kees")
    assert kees.get("/publicaties").status_code == 403
    assert kees.get("/publicaties/nieuw").status_code == 403
    assert newsroom.public().get("/publicaties").status_code == 303  # to the login page
    _status, location, _ = compose(anna)
    publication_id = id_of(location)
    # An analyst may publish but not approve, not even someone else's.
    page = anna.get(f"/publicaties/{publication_id}")
    refused = anna.post(
        f"/publicaties/{publication_id}/goedkeuren", data={"csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    assert kees.post(f"/publicaties/{publication_id}/goedkeuren").status_code == 403
    # The nav shows "Publiceren" to whoever may publish, not to a viewer.
    assert 'href="/publicaties"' in anna.get("/publicaties").text
    assert 'href="/publicaties"' not in kees.get("/account").text


def test_bad_input_is_shown_beside_its_field(newsroom: Newsroom) -> None:
    anna = newsroom.session("anna")
    status, _location, page = compose(anna, body="", title="Lege tekst")
    assert status == 422
    assert 'id="body-error"' in page
    assert 'aria-invalid="true"' in page
    assert "Lege tekst" in page  # what was typed stays
    # An image without alt text is refused beside the alt text field.
    status, _location, page = compose(
        anna, files={"image": ("foto.jpg", jpeg(), "image/jpeg")}, image_alt=""
    )
    assert status == 422
    assert 'id="image_alt-error"' in page
    # A date without a time.
    status, _location, page = compose(anna, date="2030-01-01")
    assert status == 422
    assert 'id="schedule-error"' in page
    # Not an image at all.
    status, _location, page = compose(
        anna, files={"image": ("tekst.jpg", b"dit is geen foto", "image/jpeg")}, image_alt="x"
    )
    assert status == 422
    assert 'id="image-error"' in page
    # Without the form's token nothing is saved.
    answer = anna.post("/publicaties/nieuw", data={"title": "x", "body": TEXT, "targets": ["news"]})
    assert answer.status_code == 403
    assert newsroom.service.recent(READER) == []


def _next(month: int, day: int) -> str:
    """The next such date (within the year ahead the service allows)."""
    today = datetime.now(UTC).date()
    this_year = date(today.year, month, day)
    return (this_year if this_year > today else date(today.year + 1, month, day)).isoformat()


def test_schedule_is_amsterdam_time(newsroom: Newsroom) -> None:
    anna = newsroom.session("anna")
    # 09:30 in Amsterdam is 07:30 UTC in summer (CEST, UTC+2) and 08:30 in winter (CET, UTC+1).
    for day, hour in ((_next(7, 1), 7), (_next(1, 15), 8)):
        status, location, page = compose(anna, date=day, time="09:30", action="save")
        assert status == 303, page
        stored = newsroom.service.get(READER, id_of(location))
        assert stored.scheduled_at is not None
        assert (stored.scheduled_at.hour, stored.scheduled_at.minute) == (hour, 30)
        assert stored.state == "draft"


def test_templates_fill_the_form(newsroom: Newsroom) -> None:
    beheer = newsroom.session("beheer")
    page = beheer.get("/publicaties/sjablonen")
    saved = beheer.post(
        "/publicaties/sjablonen",
        data={
            "csrf": csrf_of(page.text),
            "name": "wegafsluiting",
            "title": "Afsluiting {plaats}",
            "body": "Vanaf {tijd} is {plaats} afgesloten.",
            "lang": "nl",
        },
    )
    assert saved.status_code == 303
    # An author may use templates but not change them.
    listing = newsroom.session("anna").get("/publicaties/sjablonen")
    assert "wegafsluiting" in listing.text
    assert 'action="/publicaties/sjablonen/verwijderen"' not in listing.text
    filled = beheer.get("/publicaties/nieuw?sjabloon=wegafsluiting")
    assert "Vanaf {tijd} is {plaats} afgesloten." in filled.text
    assert 'value="Afsluiting {plaats}"' in filled.text
    page = beheer.get("/publicaties/sjablonen")
    deleted = beheer.post(
        "/publicaties/sjablonen/verwijderen",
        data={"csrf": csrf_of(page.text), "name": "wegafsluiting"},
    )
    assert deleted.status_code == 303
    assert newsroom.service.templates() == []
