"""Receiving: once per message, identified, located, routed with an explanation, contact sealed,
media stored, and the out-of-hours reply on Sundays and holidays but not in office hours."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from stadspuls.cases.records import AcceptedMedia, Call, Contact, Department
from stadspuls.store import calls
from stadspuls.store.schema import case_contacts, case_events, case_messages, cases, media
from tests.cases.conftest import ALICE, KINGS_DAY, SUNDAY, Inbox


def _count(inbox: Inbox, table: sa.Table) -> int:
    with inbox.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_same_message_twice_is_one_case(inbox: Inbox, desk: Department) -> None:
    message = inbox.message(contact=ALICE)
    first = inbox.service.receive(message)
    again = inbox.service.receive(message)
    assert first.created
    assert not again.created
    assert (again.case_id, again.reference) == (first.case_id, first.reference)
    assert _count(inbox, cases) == 1
    assert _count(inbox, case_messages) == 1
    assert _count(inbox, case_contacts) == 1
    assert first.reference == f"SP-2026-{first.case_id:06d}"


def test_the_same_id_on_another_channel_is_another_case(inbox: Inbox, desk: Department) -> None:
    first = inbox.service.receive(inbox.message(external_id="123"))
    other = inbox.service.receive(inbox.message(external_id="123", channel="mastodon"))
    assert other.created
    assert other.case_id != first.case_id


def test_a_rule_routes_and_explains(inbox: Inbox, desk: Department) -> None:
    waste = inbox.department("afval")
    # Before the catch-all rule of `desk`: rules are tried by position.
    rule = inbox.rule(
        waste, "Afval in Eindhoven", position=1, categories=("afval",), places=("Eindhoven",)
    )
    # A point on Stratumseind, Eindhoven.
    receipt = inbox.service.receive(
        inbox.message(category="afval", lat=51.4393, lon=5.4797, channel="web")
    )
    case = inbox.service.view(inbox.actor("root", "admin"), receipt.case_id).case
    assert case.department_id == waste.id
    assert case.rule_id == rule.id
    assert case.place_code == "GM0772"
    assert "Afval in Eindhoven" in case.route_explanation
    routed = _events(inbox, receipt.case_id, "routed")
    assert routed[0]["rule"] == rule.id
    assert routed[0]["explanation"] == case.route_explanation
    # Another category takes the catch-all rule to Wijkzaken.
    other = inbox.service.receive(inbox.message(category="verkeer", lat=51.4393, lon=5.4797))
    assert other.department == "Wijkzaken"


def test_without_rules_the_fallback_takes_it(inbox: Inbox) -> None:
    receipt = inbox.service.receive(inbox.message())
    assert receipt.department == "Algemeen"
    case = inbox.service.view(inbox.actor("root", "admin"), receipt.case_id).case
    assert case.rule_id is None
    assert case.route_explanation


def _events(inbox: Inbox, case_id: int, kind: str) -> list[dict[str, object]]:
    view = inbox.service.view(inbox.actor("root", "admin"), case_id)
    return [dict(e.details) for e in view.events if e.kind == kind]


def test_out_of_hours_on_a_sunday(inbox: Inbox, desk: Department) -> None:
    inbox.clock.now = SUNDAY
    receipt = inbox.service.receive(inbox.message(contact=ALICE, received_at=SUNDAY))
    assert receipt.auto_reply is not None
    # Monday 7 December 08:30 in Amsterdam.
    assert receipt.opens_at == datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
    assert receipt.reference in receipt.auto_reply
    assert "112" in receipt.auto_reply
    assert "maandag 7 december" in receipt.auto_reply
    view = inbox.service.view(inbox.actor("ann"), receipt.case_id)
    out = [m for m in view.messages if m.direction == "out"]
    assert [(m.channel, m.delivery, m.template) for m in out] == [
        ("email", "queued", "buiten-kantoortijd")
    ]
    assert "Alice" in out[0].text  # "Beste Alice Jansen,"
    assert [e.kind for e in view.events] == ["created", "routed", "auto_reply"]
    # An automatic reply is not a first response: the service level still runs.
    assert view.case.first_response_at is None


def test_out_of_hours_on_kings_day(inbox: Inbox, desk: Department) -> None:
    inbox.clock.now = KINGS_DAY
    receipt = inbox.service.receive(inbox.message(channel="web", received_at=KINGS_DAY))
    assert receipt.auto_reply is not None
    assert receipt.opens_at == datetime(2027, 4, 28, 6, 30, tzinfo=UTC)  # Wed 08:30 CEST
    status = inbox.service.status(receipt.status_token or "")
    assert status is not None
    # A web report without an e-mail address: the reply is on its status page only.
    assert [m.delivery for m in status.messages if m.direction == "out"] == ["status_page"]


def test_no_auto_reply_in_office_hours(inbox: Inbox, desk: Department) -> None:
    receipt = inbox.service.receive(inbox.message(contact=ALICE))
    assert receipt.auto_reply is None
    assert receipt.opens_at is None
    assert _count(inbox, case_messages) == 1
    assert _events(inbox, receipt.case_id, "auto_reply") == []


def test_english_gets_the_english_auto_reply(inbox: Inbox, desk: Department) -> None:
    inbox.clock.now = SUNDAY
    receipt = inbox.service.receive(
        inbox.message("There is a broken street light on my street.", language=None)
    )
    assert receipt.auto_reply is not None
    assert "Monday 7 December" in receipt.auto_reply


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Er staat al drie dagen een kapotte fiets tegen ons hek, wie haalt die weg?", "nl"),
        ("There has been a broken bicycle against our fence for three days now.", "en"),
        # Short: fastText reads it as German; lingua's second opinion says Dutch.
        ("Er is brand in Utrecht", "nl"),
        ("Where can I park my car?", "en"),
    ],
)
def test_the_language_is_identified(
    inbox: Inbox, desk: Department, text: str, language: str
) -> None:
    receipt = inbox.service.receive(inbox.message(text, language=None))
    assert inbox.service.view(inbox.actor("ann"), receipt.case_id).case.language == language


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"lat": 52.0907, "lon": 5.1214}, "GM0344"),  # the Dom tower, Utrecht
        ({"address": "Stationsplein 1, Den Bosch"}, "GM0796"),
        ({"text": "Overlast bij het station in Zwolle, elke avond."}, "GM0193"),
    ],
)
def test_the_place_is_recognised(
    inbox: Inbox, desk: Department, values: dict[str, object], code: str
) -> None:
    receipt = inbox.service.receive(inbox.message(**values))  # type: ignore[arg-type]
    assert inbox.service.view(inbox.actor("ann"), receipt.case_id).case.place_code == code


def test_a_web_report_gets_a_status_link_stored_only_hashed(inbox: Inbox, desk: Department) -> None:
    receipt = inbox.service.receive(inbox.message(channel="web"))
    token = receipt.status_token
    assert token is not None
    assert len(token) >= 40
    with inbox.engine.connect() as conn:
        stored = conn.execute(sa.select(cases.c.status_token_hash)).scalar_one()
    assert stored != token
    assert token not in stored
    status = inbox.service.status(token)
    assert status is not None
    assert status.reference == receipt.reference
    assert inbox.service.status(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    # E-mail cases have no status page.
    assert inbox.service.receive(inbox.message()).status_token is None


def test_a_further_message_reopens_an_answered_case(inbox: Inbox, desk: Department) -> None:
    ann = inbox.actor("ann")
    first = inbox.service.receive(inbox.message(contact=ALICE))
    inbox.service.reply(ann, first.case_id, body="Wij halen het morgen op.")
    follow = inbox.service.receive(
        inbox.message("Het ligt er nog steeds.", in_reply_to_case=first.case_id)
    )
    assert follow.case_id == first.case_id
    assert not follow.created
    view = inbox.service.view(ann, first.case_id)
    assert view.case.state == "new"
    assert [m.direction for m in view.messages] == ["in", "out", "in"]
    assert _events(inbox, first.case_id, "state")[-1] == {"from": "answered", "to": "new"}


def test_the_citizen_reopens_a_closed_case_on_the_status_page(
    inbox: Inbox, desk: Department
) -> None:
    ann = inbox.actor("ann")
    receipt = inbox.service.receive(inbox.message(channel="web"))
    inbox.service.assign(ann, receipt.case_id, ann.user_id)
    inbox.service.set_state(ann, receipt.case_id, "closed")
    assert receipt.status_token is not None
    inbox.service.citizen_reply(receipt.status_token, "Toch nog een vraag.")
    case = inbox.service.view(ann, receipt.case_id).case
    assert case.state == "assigned"
    assert case.closed_at is None
    status = inbox.service.status(receipt.status_token)
    assert status is not None
    assert [m.text for m in status.messages][-1] == "Toch nog een vraag."


def _call(inbox: Inbox, department: Department, slug: str, **values: object) -> Call:
    assert department.id is not None
    with inbox.engine.begin() as conn:
        return calls.save(
            conn,
            Call(
                slug=slug,
                title="Getuigen gezocht: brand Stationsstraat",
                department_id=department.id,
                starts_at=datetime(2026, 11, 1, tzinfo=UTC),
                **values,  # type: ignore[arg-type]
            ),
        )


def test_a_tip_to_a_call_goes_to_the_calls_department(inbox: Inbox, desk: Department) -> None:
    detectives = inbox.department("recherche")
    call = _call(inbox, detectives, "brand-stationsstraat")
    receipt = inbox.service.receive(
        inbox.message("Ik zag twee mensen wegrennen.", call_slug=call.slug, channel="web",
                      answers={"tijd": "23:10"})
    )  # fmt: skip
    case = inbox.service.view(inbox.actor("root", "admin"), receipt.case_id).case
    assert (case.department_id, case.call_id, case.kind) == (detectives.id, call.id, "tip")
    assert case.answers == {"tijd": "23:10"}
    assert "oproep" in case.route_explanation


def test_a_closed_or_unknown_call_is_refused(inbox: Inbox, desk: Department) -> None:
    closed = _call(inbox, desk, "voorbij", closed=True)
    for slug in (closed.slug, "bestaat-niet"):
        with pytest.raises(ValueError, match="no open call"):
            inbox.service.receive(inbox.message(call_slug=slug))
    assert _count(inbox, cases) == 0


def test_bad_messages_are_refused_and_nul_is_dropped(inbox: Inbox, desk: Department) -> None:
    with pytest.raises(ValueError, match="channel"):
        inbox.service.receive(inbox.message(channel="fax"))
    with pytest.raises(ValueError, match="empty"):
        inbox.service.receive(inbox.message("   "))
    receipt = inbox.service.receive(inbox.message("afval\x00 bij de kerk"))
    assert inbox.service.view(inbox.actor("ann"), receipt.case_id).case.text == "afval bij de kerk"


def test_media_are_stored_with_the_case(inbox: Inbox, desk: Department) -> None:
    photo = AcceptedMedia(
        sha256="ab" * 32, size=1234, content_type="image/jpeg", filename="IMG_1.jpg",
        width=640, height=480, phash="f0f0f0f0f0f0f0f0", received_at=inbox.clock(),
    )  # fmt: skip
    receipt = inbox.service.receive(inbox.message(channel="web", media=(photo,)))
    view = inbox.service.view(inbox.actor("ann"), receipt.case_id)
    assert view.case.media_count == 1
    assert [(m.sha256, m.filename) for m in view.media] == [(photo.sha256, "IMG_1.jpg")]
    assert _count(inbox, media) == 1


def test_contact_details_and_the_status_token_never_appear_in_the_database(
    inbox: Inbox, desk: Department
) -> None:
    secret = Contact(
        name="Zwaantje Gerritsen-Oudshoorn",
        email="zwaantje.gerritsen@voorbeeld-mail.nl",
        handle="@zwaantje@mastodon.example",
        reply_to="109999888777666",
    )
    inbox.clock.now = SUNDAY  # with an auto-reply that greets her by name
    receipt = inbox.service.receive(inbox.message(contact=secret, channel="web"))
    assert receipt.auto_reply is not None
    assert secret.name is not None
    assert secret.name in receipt.auto_reply
    inbox.service.contact(inbox.actor("ann"), receipt.case_id)
    # Nor is the status page's token (kept only as its SHA-256).
    needles = [secret.email, secret.handle, secret.reply_to, "zwaantje", receipt.status_token]
    found = []
    with inbox.engine.connect() as conn:
        for table in _all_tables(inbox.engine):
            for column in table.columns:
                if not isinstance(column.type, sa.String | sa.Text):
                    continue
                for value in conn.execute(sa.select(column)).scalars():
                    if value is None:
                        continue
                    # The greeting of a reply carries her name (it is what a reply says);
                    # her address, handle and reply address are nowhere in plain text.
                    if table.name == "case_messages" and column.name == "text":
                        value = value.replace(secret.name, "")
                    found += [
                        (table.name, column.name) for n in needles if n and n in value.lower()
                    ]
    assert found == []
    with inbox.engine.connect() as conn:
        sealed = conn.execute(sa.select(case_contacts.c.sealed)).scalar_one()
    assert sealed.startswith("sealed1:")
    assert inbox.service.contact(inbox.actor("ann"), receipt.case_id) == secret


def _all_tables(engine: sa.Engine) -> list[sa.Table]:
    reflected = sa.MetaData()
    reflected.reflect(engine)
    assert {"cases", "case_contacts", "case_events", "audit_log"} <= set(reflected.tables)
    return list(reflected.tables.values())


def test_history_is_append_only(inbox: Inbox, desk: Department) -> None:
    inbox.service.receive(inbox.message())
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), inbox.engine.begin() as conn:
        conn.execute(case_events.update().values(actor="someone else"))


def test_a_race_for_the_same_message_leaves_one_case(
    inbox: Inbox, desk: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = inbox.message(contact=ALICE)
    first = inbox.service.receive(message)
    looks: list[str] = []
    real = inbox.service.find_conversation

    def too_early(channel: str, external_id: str) -> int | None:
        # The first look happens before the other poller committed: it sees nothing.
        looks.append(external_id)
        return None if len(looks) == 1 else real(channel, external_id)

    monkeypatch.setattr(inbox.service, "find_conversation", too_early)
    again = inbox.service.receive(message)
    assert (again.case_id, again.created) == (first.case_id, False)
    assert _count(inbox, cases) == 1
    assert _count(inbox, case_contacts) == 1


def test_pollers_in_threads_open_one_case(inbox: Inbox, desk: Department) -> None:
    message = inbox.message()
    inbox.service.receive(inbox.message())  # the fallback and the models are ready
    with ThreadPoolExecutor(6) as pool:
        receipts = list(pool.map(lambda _: inbox.service.receive(message), range(6)))
    assert len({r.case_id for r in receipts}) == 1
    assert sum(r.created for r in receipts) == 1
    assert _count(inbox, cases) == 2
