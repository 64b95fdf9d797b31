"""Registering, confirming, one's own page, pausing, leaving: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa

from stadspuls.store.schema import callout_targets, callouts, volunteers
from stadspuls.volunteers.errors import AlreadyRegistered, BadLink, VolunteerError
from stadspuls.volunteers.records import PushSubscription, Registration, WeeklySpan
from tests.volunteers.conftest import BASE, Register


def _registration(**changes: object) -> Registration:
    values: dict[str, object] = {
        "name": "Bram de Vries",
        "email": "Bram@Example.org",
        "postcode": "3511 AB",
        "radius_km": 3.0,
        "skills": ("first_aid", "aed"),
        "consent": True,
    } | changes
    return Registration(**values)  # type: ignore[arg-type]


def test_register_mails_a_link_and_confirm_makes_active(register: Register) -> None:
    pending = register.service.register(_registration(), base_url=BASE)
    assert pending.state == "pending"
    assert pending.id is not None
    assert register.service.counts() == {"pending": 1, "active": 0, "paused": 0}
    (mail,) = register.mails
    assert mail["To"] == "Bram@Example.org"
    assert register.link(mail).startswith(f"{BASE}/vrijwilligers/bevestig/")
    active = register.service.confirm(register.token(mail))
    assert active.state == "active"
    assert active.verified_at == register.clock.now
    assert active.skills == ("first_aid", "aed")
    with pytest.raises(BadLink):
        register.service.confirm(register.token(mail))  # used
    with pytest.raises(BadLink):
        register.service.confirm("forged-token")
    private = register.service.get(pending.id, private=True).private
    assert private is not None
    assert private.place_label == "3511 Utrecht"
    assert abs(private.lat - 52.09) < 0.05
    assert abs(private.lon - 5.12) < 0.05


def test_nothing_readable_at_rest(register: Register) -> None:
    volunteer_id = register.join(
        email="Claire.Janssen@example.org",
        name="Claire Janssen",
        lat=52.3702,
        lon=4.8952,
        postcode=None,
    )
    with register.engine.connect() as conn:
        row = conn.execute(sa.select(volunteers).where(volunteers.c.id == volunteer_id)).one()
    text = " ".join(str(v) for v in row).lower()
    for secret in ("claire", "janssen", "example.org", "52.37", "4.895"):
        assert secret not in text
    assert row.sealed.startswith("sealed1:")
    assert len(row.cell) == 32
    assert row.cell != row.cell_coarse


def test_second_registration_with_the_same_address(register: Register) -> None:
    register.service.register(_registration(), base_url=BASE)
    with pytest.raises(AlreadyRegistered) as raised:
        register.service.register(_registration(email="  bram@example.ORG "), base_url=BASE)
    assert raised.value.field == "email"
    assert register.service.counts()["pending"] == 1


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"radius_km": 0.0}, "radius_km", "0.1 tot 50 km"),
        ({"radius_km": 500.0}, "radius_km", "niet 500 km"),
        ({"consent": False}, "consent", "toestemming"),
        ({"postcode": "0000"}, "postcode", "vier cijfers"),
        ({"postcode": "1000"}, "postcode", "kennen we niet"),
        ({"postcode": None, "lat": 48.8566, "lon": 2.3522}, "location", "niet in Nederland"),
        ({"postcode": None, "place": "Atlantis"}, "place", "kennen we niet"),
        ({"place": "Utrecht"}, "location", "één locatie"),
        ({"email": "not-an-address"}, "email", "e-mailadres"),
        ({"skills": ("juggling",)}, "skills", "juggling"),
        ({"channels": ()}, "channels", "bereiken"),
        ({"name": "  "}, "name", "naam"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    register: Register, changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(VolunteerError) as raised:
        register.service.register(_registration(**changes), base_url=BASE)
    assert raised.value.field == field
    assert words in str(raised.value)
    assert register.service.counts() == {"pending": 0, "active": 0, "paused": 0}
    assert register.mails == []


def test_manage_link_update_pause_resume(register: Register) -> None:
    volunteer_id = register.join()
    register.service.mail_manage_link("ANNA@example.org", base_url=BASE)
    link = register.link(register.mails[-1])
    assert link.startswith(f"{BASE}/vrijwilligers/ik/")
    token = link.rsplit("/", 1)[1]
    assert register.service.open_manage_token(token) == volunteer_id
    with pytest.raises(BadLink):
        register.service.open_manage_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(BadLink):
        register.service.open_manage_token(f"{volunteer_id + 1}." + token.split(".", 1)[1])
    register.clock.advance(days=31)
    with pytest.raises(BadLink) as raised:
        register.service.open_manage_token(token)
    assert raised.value.expired

    sent = len(register.mails)
    register.service.mail_manage_link("nobody@example.org", base_url=BASE)
    assert len(register.mails) == sent  # the same silence

    place = register.service.locate(place="Groningen")
    evening = WeeklySpan(weekday=4, start=time(18), end=time(2))
    changed = register.service.update(
        volunteer_id,
        name="Anna B.",
        location=place,
        radius_km=12.5,
        skills=("car",),
        availability=(evening,),
        channels=("email", "push"),
        lang="en",
    )
    assert (changed.radius_km, changed.skills, changed.availability) == (12.5, ("car",), (evening,))
    assert changed.channels == ("email", "push")
    assert changed.lang == "en"
    private = register.service.get(volunteer_id, private=True).private
    assert private is not None
    assert private.name == "Anna B."
    assert private.place_label == "Groningen"
    with pytest.raises(VolunteerError):
        register.service.update(volunteer_id, radius_km=500)

    assert register.service.pause(volunteer_id).state == "paused"
    assert register.service.counts()["paused"] == 1
    assert register.service.resume(volunteer_id).state == "active"


def test_push_subscriptions_are_sealed_and_removed(register: Register) -> None:
    volunteer_id = register.join(channels=("push", "email"))
    push = PushSubscription(endpoint="https://push.example/abc", p256dh="key", auth="auth")
    register.service.add_push(volunteer_id, push)
    register.service.add_push(volunteer_id, push)  # the same browser once
    opened = register.service.open_private([volunteer_id])[volunteer_id].private
    assert opened is not None
    assert opened.push == (push,)
    with register.engine.connect() as conn:
        sealed = conn.execute(sa.select(volunteers.c.sealed)).scalar_one()
    assert "push.example" not in sealed
    assert register.service.remove_push("https://push.example/abc") == 1
    opened = register.service.open_private([volunteer_id])[volunteer_id].private
    assert opened is not None
    assert opened.push == ()


def test_leave_deletes_and_detaches_targets(register: Register) -> None:
    volunteer_id = register.join()
    keep = register.join(email="other@example.org")
    with register.engine.begin() as conn:
        key = conn.execute(
            sa.insert(callouts).values(
                title="Getuigen gezocht",
                message="m",
                lat=52.09,
                lon=5.12,
                radius_km=2,
                wanted=30,
                expires_us=1,
                state="open",
                created_by="op",
                created_us=1,
            )
        ).inserted_primary_key
        assert key is not None
        callout_id = key[0]
        for rank, vid in enumerate((volunteer_id, keep), 1):
            conn.execute(
                sa.insert(callout_targets).values(
                    callout_id=callout_id,
                    volunteer_id=vid,
                    rank=rank,
                    distance_m=100 * rank,
                    selected_us=1,
                    answer="accepted",
                )
            )
    assert [h.title for h in register.service.history(volunteer_id)] == ["Getuigen gezocht"]
    register.service.leave(volunteer_id)
    with pytest.raises(BadLink):
        register.service.get(volunteer_id)
    with register.engine.connect() as conn:
        targets = conn.execute(
            sa.select(callout_targets.c.volunteer_id, callout_targets.c.distance_m).order_by(
                callout_targets.c.rank
            )
        ).all()
        left = conn.execute(sa.select(sa.func.count()).select_from(volunteers)).scalar_one()
    assert [tuple(t) for t in targets] == [(None, 100), (keep, 200)]
    assert left == 1
    assert register.service.counts() == {"pending": 0, "active": 1, "paused": 0}


def test_a_mail_server_that_is_down_stores_nothing(register: Register) -> None:
    def down(_message: object) -> None:
        raise ConnectionRefusedError("connection refused")

    service = register.service
    service._send_mail = down  # the SMTP server went away
    with pytest.raises(VolunteerError) as raised:
        service.register(_registration(), base_url=BASE)
    assert "bevestigingsmail" in str(raised.value)
    assert service.counts() == {"pending": 0, "active": 0, "paused": 0}
    service._send_mail = register.mails.append  # back: the same address may register now
    assert service.register(_registration(), base_url=BASE).state == "pending"
