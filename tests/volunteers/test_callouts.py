"""Call-outs: selection nearest first with why, the outbox, answers by signed link, extend,
close, expire, the daily limit and the log; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from stadspuls.access.roles import Forbidden
from stadspuls.settings import Settings
from stadspuls.store.schema import callout_events, callout_notifications
from stadspuls.volunteers.errors import BadLink, VolunteerError
from tests.volunteers.callout_support import OPERATOR, VIEWER, CallOuts, callouts_on
from tests.volunteers.conftest import Register


@pytest.fixture
def co(register: Register, settings: Settings) -> CallOuts:
    return callouts_on(register, settings)


def _kinds(co: CallOuts, callout_id: int) -> list[str]:
    return [e.kind for e in co.service.events(OPERATOR, callout_id)]


def test_create_selects_the_nearest_eligible_first_with_why(co: CallOuts) -> None:
    far = co.volunteer(3.0, "Daan", skills=("first_aid", "aed"))
    near = co.volunteer(0.5, "Eva", channels=("email", "push"))
    middle = co.volunteer(1.2, "Fleur", skills=("aed",))
    co.volunteer(8.0, "Gijs", radius_km=20.0)  # outside the call-out's 5 km
    co.volunteer(2.0, "Hanna", radius_km=1.0)  # their own radius does not reach the Dom
    callout = co.callout(wanted=3)
    assert callout.id is not None
    assert callout.place_label == "Utrecht"
    targets = co.service.targets(OPERATOR, callout.id)
    assert [(t.rank, t.volunteer_id) for t in targets] == [(1, near), (2, middle), (3, far)]
    assert [round(t.distance_m, -2) for t in targets] == [500, 1200, 3000]
    assert targets[1].reason == "1,2 km; eigen straal 5 km; AED"
    assert targets[2].reason == "3 km; eigen straal 5 km; EHBO, AED"
    assert all(t.name is None and t.answer is None for t in targets)  # no names before accepting
    with co.register.engine.connect() as conn:
        queued = conn.execute(
            sa.select(callout_notifications.c.target_id, callout_notifications.c.channel)
        ).all()
    assert sorted((t, c) for t, c in queued) == sorted(
        [(targets[0].id, "email"), (targets[0].id, "push"), (targets[1].id, "email"),
         (targets[2].id, "email")]
    )  # fmt: skip
    created, selected = co.service.events(OPERATOR, callout.id)
    assert (created.kind, created.actor) == ("created", "meldkamer")
    assert created.details["wanted"] == 3
    assert selected.kind == "selected"
    assert selected.details["selected"] == 3
    assert selected.details["notifications"] == 4
    excluded = selected.details["excluded"]
    assert isinstance(excluded, dict)
    assert excluded.get("own_radius") == 1
    assert sum(excluded.values()) >= 1  # Gijs: too far, or never read (outside the rings)


def test_skills_are_required_and_wanted_limits(co: CallOuts) -> None:
    co.volunteer(0.3, "Ilse")
    aed = co.volunteer(0.9, "Joris", skills=("aed", "cpr"))
    callout = co.callout(skills=("aed",), wanted=1)
    assert callout.id is not None
    assert [t.volunteer_id for t in co.service.targets(OPERATOR, callout.id)] == [aed]


def test_answers_by_signed_link_latest_wins_and_names_only_once_accepted(co: CallOuts) -> None:
    first = co.volunteer(0.4, "Karin")
    co.volunteer(0.8, "Lars")
    callout = co.callout()
    assert callout.id is not None
    t1, t2 = co.service.targets(OPERATOR, callout.id)
    assert t1.volunteer_id == first
    declined = co.service.answer(co.service.answer_token(t2.id, "declined"))
    assert declined.answer == "declined"
    co.register.clock.advance(minutes=2)
    accepted = co.service.answer(co.service.answer_token(t1.id, "accepted"))
    assert accepted.answer == "accepted"
    assert accepted.arrived_at is None
    shown = co.service.targets(OPERATOR, callout.id)
    assert [(t.answer, t.name) for t in shown] == [("accepted", "Karin"), ("declined", None)]
    co.register.clock.advance(minutes=9)
    arrived = co.service.answer(co.service.answer_token(t1.id, "arrived"))
    assert arrived.answer == "arrived"
    assert arrived.arrived_at == co.register.clock.now
    # The same link again: recorded again, the latest answer stands.
    again = co.service.answer(co.service.answer_token(t1.id, "accepted"))
    assert again.answer == "accepted"
    assert again.arrived_at == arrived.arrived_at
    answers = [e.details for e in co.service.events(OPERATOR, callout.id) if e.kind == "answered"]
    assert [(d["rank"], d["answer"]) for d in answers] == [
        (2, "declined"), (1, "accepted"), (1, "arrived"), (1, "accepted")
    ]  # fmt: skip


def test_an_answer_restarts_the_volunteers_inactivity_clock(co: CallOuts) -> None:
    karin = co.volunteer(0.4, "Karin")
    callout = co.callout()
    assert callout.id is not None
    (target,) = co.service.targets(OPERATOR, callout.id)
    before = co.register.service.get(karin).updated_at
    co.register.clock.advance(minutes=5)
    co.service.answer(co.service.answer_token(target.id, "declined"))
    after = co.register.service.get(karin).updated_at
    assert after == co.register.clock.now
    assert before is not None
    assert after > before


def test_forged_and_expired_answer_links_are_refused(co: CallOuts) -> None:
    co.volunteer(0.4, "Mila")
    callout = co.callout(expires_at=co.register.clock.now + timedelta(minutes=30))
    assert callout.id is not None
    (target,) = co.service.targets(OPERATOR, callout.id)
    token = co.service.answer_token(target.id, "declined")
    subject, expires, signature = token.split(".")
    forgeries = [
        f"{target.id}-accepted.{expires}.{signature}",  # another answer, same signature
        f"{target.id + 1}-declined.{expires}.{signature}",  # another target
        f"{subject}.{int(expires) + 86400}.{signature}",  # a later expiry
        f"{subject}.{expires}.{'A' * len(signature)}",
        "",
        "x" * 500,
    ]
    for forged in forgeries:
        with pytest.raises(BadLink) as refused:
            co.service.answer(forged)
        assert not refused.value.expired
    other = callouts_on(co.register, co.service.settings)  # another key
    with pytest.raises(BadLink):
        co.service.answer(other.service.answer_token(target.id, "accepted"))
    # Valid until the call-out's expiry plus the grace (12 hours by default), then not.
    co.register.clock.advance(hours=12, minutes=29)
    assert co.service.answer(token).answer == "declined"
    co.register.clock.advance(minutes=2)
    with pytest.raises(BadLink) as late:
        co.service.answer(co.service.answer_token(target.id, "arrived"))
    assert late.value.expired
    assert co.service.targets(OPERATOR, callout.id)[0].answer == "declined"


def test_extend_selects_the_next_nearest_only(co: CallOuts) -> None:
    ids = [co.volunteer(km, name) for km, name in ((0.5, "Noor"), (1.0, "Olaf"), (1.5, "Pim"))]
    callout = co.callout(wanted=1)
    assert callout.id is not None
    assert co.service.extend(OPERATOR, callout.id, 1) == 1
    assert co.service.extend(OPERATOR, callout.id, 5) == 1  # only one left
    assert co.service.extend(OPERATOR, callout.id, 5) == 0
    targets = co.service.targets(OPERATOR, callout.id)
    assert [(t.rank, t.volunteer_id) for t in targets] == [(1, ids[0]), (2, ids[1]), (3, ids[2])]
    assert _kinds(co, callout.id) == ["created", "selected", "extended", "extended", "extended"]
    extended = co.service.events(OPERATOR, callout.id)[2]
    assert extended.details["added"] == 1
    assert extended.details["ranks"] == [2, 2]


def test_close_and_expire(co: CallOuts) -> None:
    co.volunteer(0.5, "Quinten")
    short = co.callout(expires_at=co.register.clock.now + timedelta(minutes=10))
    other = co.callout()
    assert short.id is not None
    assert other.id is not None
    closed = co.service.close(OPERATOR, other.id, "gevonden, dank aan iedereen")
    assert (closed.state, closed.closed_by) == ("closed", "meldkamer")
    with pytest.raises(VolunteerError):
        co.service.close(OPERATOR, other.id)
    with pytest.raises(VolunteerError):
        co.service.extend(OPERATOR, other.id, 3)
    assert co.service.expire_due() == 0
    co.register.clock.advance(minutes=11)
    assert co.service.expire_due() == 1
    assert co.service.expire_due() == 0
    assert co.service.get(OPERATOR, short.id).state == "expired"
    assert _kinds(co, short.id)[-1] == "expired"
    assert _kinds(co, other.id)[-1] == "closed"
    assert (
        co.service.events(OPERATOR, other.id)[-1].details["note"] == "gevonden, dank aan iedereen"
    )
    assert [c.id for c in co.service.recent(OPERATOR, state="open")] == []
    assert {c.id for c in co.service.recent(OPERATOR)} == {short.id, other.id}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lat": 50.85, "lon": 4.35}, "location"),  # Brussels
        ({"lat": 52.0, "lon": 3.0}, "location"),  # the North Sea
        ({"radius_km": 0.0}, "radius_km"),
        ({"radius_km": 500.0}, "radius_km"),
        ({"radius_km": float("nan")}, "radius_km"),
        ({"wanted": 0}, "wanted"),
        ({"wanted": 201}, "wanted"),
        ({"skills": ("juggling",)}, "skills"),
        ({"title": "  "}, "title"),
        ({"message": ""}, "message"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    co: CallOuts, changes: dict[str, object], field: str
) -> None:
    co.volunteer(0.5, "Sem")
    with pytest.raises(VolunteerError) as refused:
        co.callout(**changes)
    assert refused.value.field == field
    assert co.service.recent(OPERATOR) == []


def test_expiry_must_be_ahead_and_within_a_week(co: CallOuts) -> None:
    now = co.register.clock.now
    for when in (now, now - timedelta(hours=1), now + timedelta(days=8)):
        with pytest.raises(VolunteerError) as refused:
            co.callout(expires_at=when)
        assert refused.value.field == "expires_at"
    assert co.service.recent(OPERATOR) == []


def test_callouts_need_the_permission(co: CallOuts) -> None:
    callout = co.callout()
    assert callout.id is not None
    with pytest.raises(Forbidden):
        co.service.recent(VIEWER)
    with pytest.raises(Forbidden):
        co.service.targets(VIEWER, callout.id)
    with pytest.raises(Forbidden):
        co.service.close(VIEWER, callout.id)


def test_the_log_is_append_only_on_postgresql(co: CallOuts) -> None:
    callout = co.callout()
    assert callout.id is not None
    if co.register.engine.dialect.name != "postgresql":
        pytest.skip("the trigger that refuses UPDATE is PostgreSQL's")
    with pytest.raises(sa.exc.DBAPIError), co.register.engine.begin() as conn:
        conn.execute(callout_events.update().values(actor="someone else"))
    assert {e.actor for e in co.service.events(OPERATOR, callout.id)} == {"meldkamer"}


def test_a_volunteer_who_leaves_stays_in_the_log_without_a_link(co: CallOuts) -> None:
    tess = co.volunteer(0.5, "Tess")
    callout = co.callout()
    assert callout.id is not None
    (target,) = co.service.targets(OPERATOR, callout.id)
    co.service.answer(co.service.answer_token(target.id, "accepted"))
    co.register.service.leave(tess)
    (kept,) = co.service.targets(OPERATOR, callout.id)
    assert kept.volunteer_id is None
    assert kept.name is None
    assert (kept.rank, kept.answer, kept.distance_m) == (1, "accepted", target.distance_m)
