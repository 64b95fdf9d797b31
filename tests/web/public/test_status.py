"""The status page behind the receipt's link: the state in plain words, the replies, adding a
message; headers that keep the link private; an unknown token says nothing."""

from __future__ import annotations

from tests.web.public.conftest import ADMIN, Public, status_link


def report(public: Public) -> str:
    """File a report; the status page's path."""
    data = {"csrf": public.csrf(), "text": "Wanneer wordt het afval opgehaald in de Dorpsstraat?"}
    sent = public.client.post("/melden", data=data)
    assert sent.status_code == 200
    return status_link(sent.text)


def test_the_status_page_shows_the_state_and_the_replies(public: Public) -> None:
    link = report(public)
    page = public.client.get(link)
    assert page.status_code == 200
    assert "Ontvangen: nog niet in behandeling" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    (case,) = public.stored()
    public.cases.reply(ADMIN, case.id, body="Dinsdag, vanaf 7 uur.", subject="Afval")
    answered = public.client.get(link)
    assert "Beantwoord" in answered.text
    assert "Dinsdag, vanaf 7 uur." in answered.text
    english = public.client.get(link + "?lang=en")
    assert "Answered" in english.text


def test_the_citizen_adds_a_message(public: Public) -> None:
    link = report(public)
    page = public.client.get(link)
    data = {"csrf": public.csrf(), "text": "Het gaat om nummer 12 tot 40."}
    sent = public.client.post(link, data=data, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{link}?sent=1#messages"
    after = public.client.get(sent.headers["location"])
    assert "Uw bericht is verstuurd." in after.text
    assert "Het gaat om nummer 12 tot 40." in after.text
    assert page.status_code == 200


def test_an_empty_or_forged_message_is_refused_and_kept(public: Public) -> None:
    link = report(public)
    empty = public.client.post(link, data={"csrf": public.csrf(), "text": "  "})
    assert empty.status_code == 422
    assert "Schrijf eerst een bericht." in empty.text
    forged = public.client.post(link, data={"csrf": "nep", "text": "Nog iets."})
    assert forged.status_code == 403
    assert "Nog iets." in forged.text
    messages = public.cases.view(ADMIN, public.stored()[0].id).messages
    assert [m.text for m in messages if m.direction == "in" and "Nog iets" in m.text] == []


def test_an_unknown_token_is_a_bare_404(public: Public) -> None:
    report(public)
    for token in ("niet-bestaand-token", "x" * 500):
        page = public.client.get(f"/status/{token}")
        assert page.status_code == 404
        assert "Pagina niet gevonden" in page.text
        assert page.headers["x-robots-tag"] == "noindex, nofollow"
        posted = public.client.post(f"/status/{token}", data={"csrf": public.csrf(), "text": "a"})
        assert posted.status_code == 404
