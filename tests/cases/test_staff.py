"""Staff work on cases: who sees which case and contact (audited), the state machine and its
409s, replies, reroutes, notes, drafts, and service levels."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from stadspuls.access.roles import Forbidden
from stadspuls.cases.records import Department, ReplyTemplate
from stadspuls.cases.service import CaseInputError, CaseStateError, ContactForbidden
from stadspuls.service.errors import NotFound
from stadspuls.store import audit, reply_templates
from tests.cases.conftest import ALICE, Inbox


@pytest.fixture
def case_id(inbox: Inbox, desk: Department) -> int:
    return inbox.service.receive(inbox.message(contact=ALICE, subject="Afval")).case_id


def test_members_see_their_departments_cases(inbox: Inbox, case_id: int) -> None:
    ann = inbox.actor("ann")
    assert [c.id for c in inbox.service.list_cases(ann)] == [case_id]
    view = inbox.service.view(ann, case_id)
    assert view.may_see_contact
    assert view.department.slug == "wijkzaken"
    assert inbox.service.counts(ann)["new"] == 1


def test_a_non_member_analyst_finds_nothing(inbox: Inbox, case_id: int) -> None:
    inbox.department("handhaving", inbox.actor("carl").username)
    carl = inbox.actor("carl")
    assert inbox.service.list_cases(carl) == []
    assert inbox.service.counts(carl)["new"] == 0
    for attempt in (
        lambda: inbox.service.view(carl, case_id),
        lambda: inbox.service.contact(carl, case_id),
        lambda: inbox.service.assign(carl, case_id, carl.user_id),
        lambda: inbox.service.set_state(carl, case_id, "closed"),
        lambda: inbox.service.note(carl, case_id, "kijk"),
        lambda: inbox.service.reply(carl, case_id, body="hallo"),
    ):
        with pytest.raises(NotFound):
            attempt()
    # An unknown case reads the same as one in another department.
    with pytest.raises(NotFound):
        inbox.service.view(carl, 999_999)


def test_an_admin_sees_every_case_but_opens_contacts_only_as_a_member(
    inbox: Inbox, case_id: int
) -> None:
    root = inbox.actor("root", "admin")
    assert [c.id for c in inbox.service.list_cases(root)] == [case_id]
    view = inbox.service.view(root, case_id)
    assert not view.may_see_contact
    with pytest.raises(ContactForbidden):
        inbox.service.contact(root, case_id)
    inbox.department("wijkzaken", "root")
    assert inbox.service.contact(root, case_id) == ALICE


def test_a_viewer_is_forbidden(inbox: Inbox, case_id: int) -> None:
    viewer = inbox.actor("vera", "viewer")
    with pytest.raises(Forbidden):
        inbox.service.list_cases(viewer)
    with pytest.raises(Forbidden):
        inbox.service.view(viewer, case_id)


def test_opening_the_contact_is_in_the_history_and_the_audit_log(
    inbox: Inbox, case_id: int
) -> None:
    ann = inbox.actor("ann")
    assert inbox.service.contact(ann, case_id) == ALICE
    events = [e for e in inbox.service.view(ann, case_id).events if e.kind == "contact.view"]
    assert [(e.actor, e.kind) for e in events] == [("ann", "contact.view")]
    _, entries = audit.list_entries(inbox.engine, actions=["contact.view"])
    assert [(e.actor, e.details) for e in entries] == [
        ("ann", {"case_id": case_id, "reference": f"SP-2026-{case_id:06d}"})
    ]


def test_assigning_and_the_state_machine(inbox: Inbox, case_id: int) -> None:
    ann, bob = inbox.actor("ann"), inbox.actor("bob")
    case = inbox.service.assign(ann, case_id, bob.user_id)
    assert (case.state, case.assignee_id) == ("assigned", bob.user_id)
    assert inbox.service.assign(ann, case_id, None).state == "new"
    with pytest.raises(CaseStateError, match="not set by hand"):
        inbox.service.set_state(ann, case_id, "new")
    inbox.service.set_state(ann, case_id, "waiting")
    with pytest.raises(CaseStateError, match="assign someone"):
        inbox.service.set_state(ann, case_id, "assigned")
    case = inbox.service.set_state(ann, case_id, "answered")
    with pytest.raises(CaseStateError, match="already"):
        inbox.service.set_state(ann, case_id, "answered")
    closed = inbox.service.set_state(ann, case_id, "closed")
    assert closed.closed_at == inbox.clock()
    for attempt in (
        lambda: inbox.service.set_state(ann, case_id, "answered"),
        lambda: inbox.service.assign(ann, case_id, bob.user_id),
        lambda: inbox.service.reply(ann, case_id, body="nog iets"),
        lambda: inbox.service.reroute(ann, case_id, 1),
    ):
        with pytest.raises(CaseStateError):
            attempt()
    # Notes stay possible on a closed case.
    inbox.service.note(ann, case_id, "Afgesloten na telefoontje.")
    kinds = [(e.kind, e.details.get("to")) for e in inbox.service.view(ann, case_id).events]
    assert kinds[2:] == [
        ("assigned", None), ("state", "assigned"), ("assigned", None), ("state", "new"),
        ("state", "waiting"), ("state", "answered"), ("state", "closed"), ("note", None),
    ]  # fmt: skip


def test_unknown_states_and_outsiders_are_input_errors(inbox: Inbox, case_id: int) -> None:
    ann = inbox.actor("ann")
    with pytest.raises(CaseInputError):
        inbox.service.set_state(ann, case_id, "archived")
    outsider = inbox.actor("olga")
    with pytest.raises(CaseInputError, match="not a member"):
        inbox.service.assign(ann, case_id, outsider.user_id)
    with pytest.raises(CaseInputError):
        inbox.service.note(ann, case_id, "   ")
    with pytest.raises(CaseInputError):
        inbox.service.list_cases(ann, states=["archived"])


def test_a_reply_is_queued_and_sets_the_first_response(inbox: Inbox, case_id: int) -> None:
    ann = inbox.actor("ann")
    inbox.clock.advance(minutes=30)
    message = inbox.service.reply(
        ann, case_id, body="Wij komen kijken.", template="ontvangen", state_after="waiting"
    )
    assert (message.direction, message.channel, message.delivery) == ("out", "email", "queued")
    assert message.author == "ann"
    view = inbox.service.view(ann, case_id)
    assert view.case.state == "waiting"
    assert view.case.first_response_at == inbox.clock()
    reply = next(e for e in view.events if e.kind == "reply")
    assert reply.details["template"] == "ontvangen"
    inbox.clock.advance(minutes=30)
    inbox.service.reply(ann, case_id, body="Opgelost.")
    later = inbox.service.view(ann, case_id).case
    assert later.state == "answered"
    assert later.first_response_at == view.case.first_response_at
    with pytest.raises(CaseInputError):
        inbox.service.reply(ann, case_id, body="x", state_after="closed")


def test_a_web_report_is_answered_by_email_or_on_its_status_page(
    inbox: Inbox, desk: Department
) -> None:
    ann = inbox.actor("ann")
    anonymous = inbox.service.receive(inbox.message(channel="web"))
    with_address = inbox.service.receive(inbox.message(channel="web", contact=ALICE))
    assert inbox.service.reply_route(ann, anonymous.case_id) == ("web", "status_page")
    assert inbox.service.reply_route(ann, with_address.case_id) == ("email", "queued")
    first = inbox.service.reply(ann, anonymous.case_id, body="Bedankt.")
    second = inbox.service.reply(ann, with_address.case_id, body="Bedankt.")
    assert (first.channel, first.delivery) == ("web", "status_page")
    assert (second.channel, second.delivery) == ("email", "queued")
    assert anonymous.status_token is not None
    status = inbox.service.status(anonymous.status_token)
    assert status is not None
    assert status.state == "answered"
    assert [m.text for m in status.messages if m.direction == "out"] == ["Bedankt."]


def test_rerouting_keeps_the_history(inbox: Inbox, case_id: int) -> None:
    ann, bob = inbox.actor("ann"), inbox.actor("bob")
    other = inbox.department("handhaving", "bob")
    assert other.id is not None
    inbox.service.assign(ann, case_id, ann.user_id)
    moved = inbox.service.reroute(ann, case_id, other.id, "Parkeeroverlast")
    assert (moved.department_id, moved.assignee_id, moved.state) == (other.id, None, "new")
    assert "Parkeeroverlast" in moved.route_explanation
    with pytest.raises(NotFound):  # ann works only in Wijkzaken
        inbox.service.view(ann, case_id)
    events = inbox.service.view(bob, case_id).events
    assert [e.kind for e in events][:2] == ["created", "routed"]
    rerouted = next(e for e in events if e.kind == "rerouted")
    assert rerouted.details["note"] == "Parkeeroverlast"
    with pytest.raises(CaseInputError):
        inbox.service.reroute(bob, case_id, other.id)
    with pytest.raises(CaseInputError):
        inbox.service.reroute(bob, case_id, 999_999)


def test_a_draft_fills_a_reviewed_template(inbox: Inbox, case_id: int) -> None:
    ann = inbox.actor("ann")
    subject, body = inbox.service.draft_reply(ann, case_id, "ontvangen")
    reference = f"SP-2026-{case_id:06d}"
    assert reference in subject
    assert reference in body
    assert "Beste Alice Jansen," in body
    assert "Wijkzaken" in body
    # An admin outside the department gets no name.
    _, body = inbox.service.draft_reply(inbox.actor("root", "admin"), case_id, "ontvangen")
    assert "Alice" not in body
    with pytest.raises(NotFound):
        inbox.service.draft_reply(ann, case_id, "bestaat-niet")
    with inbox.engine.begin() as conn:
        reply_templates.save(conn, ReplyTemplate(name="nieuw", body="Hallo {naam}"), editor="ann")
    with pytest.raises(CaseInputError, match="reviewed"):
        inbox.service.draft_reply(ann, case_id, "nieuw")


def test_overdue_cases(inbox: Inbox, case_id: int) -> None:
    ann = inbox.actor("ann")
    assert inbox.service.list_cases(ann, overdue=True) == []
    inbox.clock.advance(hours=9)  # past the first response (8 h)
    assert [c.id for c in inbox.service.list_cases(ann, overdue=True)] == [case_id]
    assert inbox.service.view(ann, case_id).overdue == ("first_response",)
    assert inbox.service.counts(ann)["overdue"] == 1
    inbox.service.reply(ann, case_id, body="We kijken ernaar.", state_after="waiting")
    assert inbox.service.list_cases(ann, overdue=True) == []
    inbox.clock.advance(days=5)  # past the resolution (5 days)
    assert inbox.service.view(ann, case_id).overdue == ("resolution",)
    inbox.service.set_state(ann, case_id, "closed")
    assert inbox.service.list_cases(ann, overdue=True) == []


def test_filters_and_paging(inbox: Inbox, desk: Department) -> None:
    ann = inbox.actor("ann")
    ids = [inbox.service.receive(inbox.message()).case_id for _ in range(5)]
    inbox.service.assign(ann, ids[0], ann.user_id)
    page = inbox.service.list_cases(ann, limit=2)
    assert [c.id for c in page] == ids[::-1][:2]
    older = inbox.service.list_cases(ann, limit=2, before_id=page[-1].id)
    assert [c.id for c in older] == ids[::-1][2:4]
    assert [c.id for c in inbox.service.list_cases(ann, states=["assigned"])] == [ids[0]]
    assert [c.id for c in inbox.service.list_cases(ann, assignee_id=ann.user_id)] == [ids[0]]
    assert inbox.service.list_cases(ann, department_id=desk.id, limit=100) != []


def test_history_rows_cannot_be_changed_through_the_store(inbox: Inbox, case_id: int) -> None:
    from stadspuls.store.schema import case_events

    with pytest.raises(sa.exc.DatabaseError), inbox.engine.begin() as conn:
        conn.execute(case_events.update().where(case_events.c.case_id == case_id).values(kind="x"))


def test_nul_characters_are_dropped_from_staff_and_citizen_text(
    inbox: Inbox, desk: Department
) -> None:
    ann = inbox.actor("ann")
    receipt = inbox.service.receive(inbox.message(channel="web"))
    assert receipt.status_token is not None
    inbox.service.note(ann, receipt.case_id, "na\x00am")
    inbox.service.reply(ann, receipt.case_id, body="da\x00nk", subject="re\x00")
    inbox.service.citizen_reply(receipt.status_token, "graag\x00 gedaan")
    view = inbox.service.view(ann, receipt.case_id)
    assert [m.text for m in view.messages][1:] == ["dank", "graag gedaan"]
    assert [e.details["text"] for e in view.events if e.kind == "note"] == ["naam"]
    with pytest.raises(CaseInputError):
        inbox.service.note(ann, receipt.case_id, "\x00 ")
