"""Every form of a case's page: it works with the session's CSRF token (303 back to the case,
the change in its history) and changes nothing without it (403 with a clear message). A state
the case does not allow is a 409 with a message on the page; bad input a 422. SQLite and
PostgreSQL."""

from __future__ import annotations

import html as markup

import pytest
from fastapi.testclient import TestClient

from stadspuls.records import Actor
from stadspuls.store import users
from tests.web.cases_pages.conftest import Inbox, csrf_of, waste


def _admin(inbox: Inbox) -> Actor:
    """Who sees every case (anna loses sight of one she sends to another department)."""
    user = users.find_user(inbox.engine, "beheer")
    assert user is not None
    return users.actor_of(user, "session")


def _events(inbox: Inbox, case_id: int) -> list[str]:
    return [event.kind for event in inbox.cases.view(_admin(inbox), case_id).events]


def _form(client: TestClient, case_id: int) -> str:
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    return csrf_of(page.text)


@pytest.mark.parametrize(
    ("action", "data", "event", "done"),
    [
        ("assign", {"assignee": "me"}, "assigned", "De melding is toegewezen."),
        ("note", {"text": "Buurman gebeld"}, "note", "De notitie is toegevoegd."),
        ("state", {"state": "waiting"}, "state", "De status is gewijzigd."),
        ("reroute", {"note": "is handhaving"}, "rerouted", "naar de andere afdeling"),
        (
            "reply",
            {"body": "Dank u, we halen het morgen op.", "state_after": "answered"},
            "reply",
            "Het antwoord is klaargezet",
        ),
    ],
)
def test_each_form_works_with_its_token_and_changes_nothing_without(
    inbox: Inbox, action: str, data: dict[str, str], event: str, done: str
) -> None:
    receipt = waste(inbox)
    case_id = receipt.case_id
    if action == "reroute":
        data = {**data, "department_id": str(inbox.handhaving)}
    anna = inbox.session("anna")
    token = _form(anna, case_id)
    before = _events(inbox, case_id)
    for wrong in ({}, {"csrf": "not-the-token"}):
        refused = anna.post(f"/cases/{case_id}/{action}", data={**data, **wrong})
        assert refused.status_code == 403
        assert "formulier was verlopen" in refused.text
        assert _events(inbox, case_id) == before
    if action == "reply":
        # What was typed is kept on the page that refuses it.
        assert "we halen het morgen op" in refused.text
    posted = anna.post(f"/cases/{case_id}/{action}", data={**data, "csrf": token})
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"].startswith(f"/cases/{case_id}?done=")
    assert event in _events(inbox, case_id)[len(before) :]
    if action == "reroute":
        # Anna works in Wijkzaken only: the case is gone from her view.
        assert anna.get(posted.headers["location"]).status_code == 404
        return
    page = anna.get(posted.headers["location"])
    assert done in markup.unescape(page.text)


def test_the_reply_is_in_the_conversation_and_the_case_is_answered(inbox: Inbox) -> None:
    receipt = waste(inbox)
    anna = inbox.session("anna")
    token = _form(anna, receipt.case_id)
    anna.post(
        f"/cases/{receipt.case_id}/reply",
        data={"csrf": token, "template": "opgehaald", "subject": "Uw melding",
              "body": "Het afval is opgehaald.", "state_after": "answered"},
    )  # fmt: skip
    page = markup.unescape(anna.get(f"/cases/{receipt.case_id}").text)
    assert "Het afval is opgehaald." in page
    assert "Antwoord klaargezet met sjabloon 'opgehaald'" in page
    assert '<span class="badge state state-answered">' in page
    listed = anna.get("/cases?tab=answered").text
    assert receipt.reference in listed


def test_a_state_conflict_is_a_409_with_a_message_on_the_page(inbox: Inbox) -> None:
    receipt = waste(inbox)
    anna = inbox.session("anna")
    token = _form(anna, receipt.case_id)
    # A new case cannot be "assigned" by hand without an assignee.
    refused = anna.post(
        f"/cases/{receipt.case_id}/state", data={"csrf": token, "state": "assigned"}
    )
    assert refused.status_code == 409
    assert "Dat kan niet in de huidige status" in markup.unescape(refused.text)
    assert 'role="alert"' in refused.text
    closed = anna.post(f"/cases/{receipt.case_id}/state", data={"csrf": token, "state": "closed"})
    assert closed.status_code == 303
    again = anna.post(f"/cases/{receipt.case_id}/note", data={"csrf": token, "text": "x"})
    assert again.status_code in (303, 409)
    reply = anna.post(
        f"/cases/{receipt.case_id}/reply",
        data={"csrf": token, "body": "Toch nog iets", "state_after": "answered"},
    )
    assert reply.status_code == 409
    assert "Toch nog iets" in reply.text  # what was typed stays


def test_bad_input_is_a_422_with_a_message(inbox: Inbox) -> None:
    receipt = waste(inbox)
    anna = inbox.session("anna")
    token = _form(anna, receipt.case_id)
    cases = (
        ("note", {"text": "   "}, "Een notitie heeft tekst nodig."),
        ("reply", {"body": ""}, "Schrijf eerst het antwoord."),
        ("state", {"state": "bestaat-niet"}, "Kies een status."),
        ("reroute", {"department_id": ""}, "Kies de afdeling"),
        ("reroute", {"department_id": "99999"}, "werd niet geaccepteerd"),
        ("assign", {"assignee": "abc"}, "Kies wie de melding oppakt."),
    )
    before = _events(inbox, receipt.case_id)
    for action, data, message in cases:
        refused = anna.post(f"/cases/{receipt.case_id}/{action}", data={**data, "csrf": token})
        assert refused.status_code == 422, (action, data)
        assert message in markup.unescape(refused.text)
    assert _events(inbox, receipt.case_id) == before


def test_assigning_to_a_colleague_of_the_department(inbox: Inbox) -> None:
    receipt = waste(inbox)
    bert = users.find_user(inbox.engine, "bert")
    assert bert is not None
    anna = inbox.session("anna")
    page = anna.get(f"/cases/{receipt.case_id}").text
    assert f'<option value="{bert.id}">bert</option>' in page
    posted = anna.post(
        f"/cases/{receipt.case_id}/assign", data={"csrf": csrf_of(page), "assignee": str(bert.id)}
    )
    assert posted.status_code == 303
    after = markup.unescape(anna.get(f"/cases/{receipt.case_id}").text)
    assert "Toegewezen aan bert" in after
    listed = anna.get("/cases?tab=assigned").text
    assert "bert" in listed
