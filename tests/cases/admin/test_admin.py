"""CaseAdmin: permissions, validation and the audit row of every change (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import msgspec
import pytest
import sqlalchemy as sa

from stadspuls.access.roles import Forbidden
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.checks import AdminError, AlreadyExists
from stadspuls.cases.records import (
    Call,
    CallQuestion,
    Department,
    InboundMessage,
    OfficeHours,
    OpeningSpan,
    ReplyTemplate,
    RoutingRule,
)
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import Actor, User
from stadspuls.service.errors import NotFound
from stadspuls.settings import Settings
from stadspuls.store import audit, reply_templates, users

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def actor(engine: sa.Engine, username: str, role: str) -> Actor:
    user = users.find_user(engine, username) or users.create_user(
        engine, User(username=username, role=role), password_hash=None
    )
    return users.actor_of(user, "session")


@pytest.fixture
def admin_of(engine: sa.Engine, settings: Settings) -> CaseAdmin:
    return CaseAdmin(engine, settings, clock=lambda: NOW)


def actions(engine: sa.Engine) -> list[str]:
    _total, entries = audit.list_entries(engine, limit=1000)
    return [entry.action for entry in reversed(entries)]


def test_ensure_fallback_creates_the_department_and_built_in_templates_once(
    engine: sa.Engine, admin_of: CaseAdmin
) -> None:
    first = admin_of.ensure_fallback()
    again = admin_of.ensure_fallback()
    assert first == again
    assert first.slug == "algemeen"
    boss = actor(engine, "beheer", "admin")
    names = {t.name for t in admin_of.templates(boss)}
    assert {"ontvangen", "ontvangen-en", "buiten-kantoortijd", "buiten-kantoortijd-en"} <= names
    assert all(t.reviewed_by == "stadspuls" for t in admin_of.templates(boss))
    with engine.connect() as conn:
        chosen = reply_templates.for_reply(conn, "ontvangen", "en", first.id)
        dutch = reply_templates.for_reply(conn, "ontvangen", "fr", first.id)
    assert chosen is not None
    assert chosen.language == "en"
    assert dutch is not None
    assert dutch.name == "ontvangen"
    assert actions(engine).count("department.save") == 1


def test_departments_and_members_are_for_admins_and_audited(
    engine: sa.Engine, admin_of: CaseAdmin
) -> None:
    boss = actor(engine, "beheer", "admin")
    ana = actor(engine, "ana", "analyst")
    kijker = actor(engine, "kijker", "viewer")
    hours = OfficeHours(week={0: (OpeningSpan(start=time(9), end=time(12)),)})
    with pytest.raises(Forbidden):
        admin_of.save_department(ana, Department(slug="wijk", name="Wijk"))
    saved = admin_of.save_department(boss, Department(slug="wijk", name="Wijk", hours=hours))
    assert saved.id is not None
    assert saved.hours == hours
    with pytest.raises(AlreadyExists):
        admin_of.save_department(boss, Department(slug="wijk", name="Nog een"))
    with pytest.raises(AdminError, match="short name"):
        admin_of.save_department(boss, Department(slug="Wijk Zaken", name="x"))
    bad_hours = OfficeHours(week={0: (OpeningSpan(start=time(12), end=time(9)),)})
    with pytest.raises(AdminError, match="ends before it starts"):
        admin_of.save_department(boss, Department(slug="x1", name="X", hours=bad_hours))
    with pytest.raises(AdminError, match="retention"):
        admin_of.save_department(boss, Department(slug="x2", name="X", retention_days=0))
    assert ana.user_id is not None
    with pytest.raises(Forbidden):
        admin_of.set_members(ana, saved.id, [ana.user_id])
    admin_of.set_members(boss, saved.id, [ana.user_id])
    assert admin_of.members(ana, saved.id) == [ana.user_id]
    with pytest.raises(AdminError, match="no user with id 999"):
        admin_of.set_members(boss, saved.id, [999])
    assert [d.slug for d in admin_of.my_departments(ana)] == ["wijk"]
    assert len(admin_of.my_departments(boss)) == 1
    with pytest.raises(Forbidden):
        admin_of.departments(kijker)
    with pytest.raises(NotFound):
        admin_of.members(boss, 12345)
    assert actions(engine) == ["department.save", "department.members"]


def test_the_fallback_department_cannot_be_switched_off(
    engine: sa.Engine, admin_of: CaseAdmin
) -> None:
    boss = actor(engine, "beheer", "admin")
    fallback = admin_of.ensure_fallback()
    with pytest.raises(AdminError, match="fallback"):
        admin_of.save_department(boss, msgspec.structs.replace(fallback, active=False))


def test_rules_are_checked_saved_moved_and_used_by_try_route(
    engine: sa.Engine, admin_of: CaseAdmin
) -> None:
    boss = actor(engine, "beheer", "admin")
    ana = actor(engine, "ana", "analyst")
    afval = admin_of.save_department(boss, Department(slug="afval", name="Afval"))
    assert afval.id is not None
    with pytest.raises(QuerySyntaxError):
        admin_of.save_rule(boss, RoutingRule(department_id=afval.id, name="x", query="(afval"))
    with pytest.raises(AdminError, match="unknown place 'Atlantis'"):
        admin_of.save_rule(
            boss, RoutingRule(department_id=afval.id, name="x", places=("Atlantis",))
        )
    with pytest.raises(AdminError, match="kinds"):
        admin_of.save_rule(boss, RoutingRule(department_id=afval.id, name="x", kinds=("klacht",)))
    with pytest.raises(NotFound):
        admin_of.save_rule(boss, RoutingRule(department_id=4242, name="x"))
    with pytest.raises(Forbidden):
        admin_of.save_rule(ana, RoutingRule(department_id=afval.id, name="x"))
    first = admin_of.save_rule(
        boss,
        RoutingRule(
            department_id=afval.id,
            name="Afval Eindhoven",
            query="afval OR vuilnis",
            places=("eindhoven",),
        ),
    )
    second = admin_of.save_rule(
        boss, RoutingRule(department_id=afval.id, name="Tips", kinds=("tip",))
    )
    assert (first.position, second.position) == (1, 2)
    tip = InboundMessage(
        channel="web",
        external_id="t",
        received_at=NOW,
        kind="tip",
        text="Er ligt afval op de stoep in Eindhoven",
        language="nl",
    )
    decision = admin_of.try_route(ana, tip)
    assert decision.rule_id == first.id
    assert decision.explanation == (
        "regel 'Afval Eindhoven': zoekvraag 'afval OR vuilnis', gemeente GM0772"
    )
    order = admin_of.move_rule(boss, second.id or 0, -1)
    assert [rule.id for rule in order] == [second.id, first.id]
    assert admin_of.try_route(ana, tip).rule_id == second.id
    admin_of.delete_rule(boss, second.id or 0)
    with pytest.raises(NotFound):
        admin_of.delete_rule(boss, second.id or 0)
    fallback = admin_of.try_route(ana, msgspec.structs.replace(tip, text="Een vraag"))
    assert fallback.rule_id is None
    assert fallback.department_id == admin_of.ensure_fallback().id
    # The first routing created the fallback department.
    assert actions(engine)[1:] == [
        "rule.save", "rule.save", "department.save", "rule.move", "rule.delete"
    ]  # fmt: skip


def test_templates_are_edited_by_members_and_reviewed_by_someone_else(
    engine: sa.Engine, admin_of: CaseAdmin
) -> None:
    boss = actor(engine, "beheer", "admin")
    ana = actor(engine, "ana", "analyst")
    bob = actor(engine, "bob", "analyst")
    eve = actor(engine, "eve", "analyst")
    wijk = admin_of.save_department(boss, Department(slug="wijk", name="Wijk"))
    assert wijk.id is not None
    assert ana.user_id
    assert bob.user_id
    admin_of.set_members(boss, wijk.id, [ana.user_id, bob.user_id])
    draft = ReplyTemplate(
        name="parkeren", subject="Parkeren ({referentie})", body="{aanhef}\n\nU mag daar parkeren.",
        department_id=wijk.id,
    )  # fmt: skip
    with pytest.raises(Forbidden, match="eve does not work in department"):
        admin_of.save_template(eve, draft)
    with pytest.raises(AdminError, match=r"unknown placeholder \{voornaam\}"):
        admin_of.save_template(ana, msgspec.structs.replace(draft, body="Beste {voornaam}"))
    with pytest.raises(Forbidden):  # a shared template is the admins' to change
        admin_of.save_template(ana, msgspec.structs.replace(draft, department_id=None))
    saved = admin_of.save_template(ana, draft)
    assert saved.id is not None
    assert saved.reviewed_by is None
    assert saved.updated_by == "ana"
    with pytest.raises(AdminError, match="someone else reviews it"):
        admin_of.review_template(ana, saved.id)
    with pytest.raises(Forbidden):
        admin_of.review_template(eve, saved.id)
    reviewed = admin_of.review_template(bob, saved.id)
    assert reviewed.reviewed_by == "bob"
    assert reviewed.reviewed_at is not None
    # Saving the same text keeps the review; a change needs a new one.
    same = admin_of.save_template(bob, reviewed)
    assert same.reviewed_by == "bob"
    changed = admin_of.save_template(bob, msgspec.structs.replace(same, body="U mag er staan."))
    assert changed.reviewed_by is None
    assert changed.updated_by == "bob"
    with pytest.raises(AlreadyExists):
        admin_of.save_template(ana, msgspec.structs.replace(draft, id=None))
    admin_of.delete_template(ana, saved.id)
    assert [t.name for t in admin_of.templates(ana, department_id=wijk.id)] == []
    assert actions(engine)[2:] == [
        "template.save", "template.review", "template.save", "template.save", "template.delete"
    ]  # fmt: skip


def test_calls_are_validated_and_open_only_between_start_and_end(
    engine: sa.Engine, admin_of: CaseAdmin
) -> None:
    boss = actor(engine, "beheer", "admin")
    ana = actor(engine, "ana", "analyst")
    eve = actor(engine, "eve", "analyst")
    politie = admin_of.save_department(boss, Department(slug="politie", name="Politie"))
    assert politie.id is not None
    assert ana.user_id is not None
    admin_of.set_members(boss, politie.id, [ana.user_id])
    call = Call(
        slug="brand-stationsstraat",
        title="Getuigen gezocht: brand Stationsstraat, 12 mei",
        department_id=politie.id,
        questions=(
            CallQuestion(key="gezien", label="Wat zag u?", required=True),
            CallQuestion(
                key="waar", label="Waar stond u?", kind="choice", choices=("Noord", "Zuid")
            ),
        ),
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(days=7),
        lat=51.44,
        lon=5.47,
        incident_at=NOW - timedelta(hours=3),
    )
    for broken, message in [
        (msgspec.structs.replace(call, slug="Brand!"), "address"),
        (msgspec.structs.replace(call, ends_at=call.starts_at), "ends after it starts"),
        (msgspec.structs.replace(call, lat=None), "latitude and longitude"),
        (
            msgspec.structs.replace(
                call, questions=(CallQuestion(key="k", label="K", kind="choice", choices=("a",)),)
            ),
            "two choices",
        ),
        (
            msgspec.structs.replace(
                call, questions=(CallQuestion(key="k", label="K", kind="video"),)
            ),
            "kind 'video'",
        ),
        (msgspec.structs.replace(call, monitor_id=777), "no monitor 777"),
    ]:
        with pytest.raises(AdminError, match=message):
            admin_of.save_call(ana, broken)
    with pytest.raises(Forbidden):
        admin_of.save_call(eve, call)
    saved = admin_of.save_call(ana, call)
    assert saved.id is not None
    assert saved.created_by == "ana"
    assert saved.questions == call.questions
    with pytest.raises(AlreadyExists):
        admin_of.save_call(boss, call)
    assert admin_of.open_call("brand-stationsstraat") == saved
    assert admin_of.open_call("onbekend") is None
    later = CaseAdmin(engine, admin_of.settings, clock=lambda: NOW + timedelta(days=8))
    assert later.open_call("brand-stationsstraat") is None
    admin_of.save_call(ana, msgspec.structs.replace(saved, closed=True))
    assert admin_of.open_call("brand-stationsstraat") is None
    assert [c.slug for c in admin_of.calls(eve)] == ["brand-stationsstraat"]
    assert admin_of.call(eve, saved.id).created_by == "ana"
    assert actions(engine).count("call.save") == 2
