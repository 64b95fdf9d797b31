"""Retention: unconfirmed registrations go, inactive volunteers are reminded and then deleted
unless they come back, ended call-outs go with their targets (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.store.rows import to_us
from stadspuls.store.schema import callout_targets, callouts
from stadspuls.volunteers.records import Registration
from tests.volunteers.conftest import BASE, Register


def test_unconfirmed_registrations_go_after_the_setting(register: Register) -> None:
    register.service.register(
        Registration(name="Piet", email="piet@example.org", place="Zwolle", consent=True),
        base_url=BASE,
    )
    kept = register.join(email="kept@example.org")
    register.clock.advance(hours=47)
    assert register.service.purge()["unconfirmed"] == 0
    register.clock.advance(hours=2)
    assert register.service.purge()["unconfirmed"] == 1
    assert register.service.counts() == {"pending": 0, "active": 1, "paused": 0}
    assert register.service.get(kept).state == "active"


def test_inactive_volunteers_are_reminded_then_deleted(register: Register) -> None:
    quiet = register.join(email="quiet@example.org")
    back = register.join(email="back@example.org")
    register.clock.advance(days=364)
    assert register.service.purge(base_url=BASE)["reminded"] == 0
    register.clock.advance(days=2)
    mails = len(register.mails)
    done = register.service.purge(base_url=BASE)
    assert done["reminded"] == 2
    reminders = register.mails[mails:]
    assert {m["To"] for m in reminders} == {"quiet@example.org", "back@example.org"}
    assert all("vrijwilliger blijven" in m["Subject"] for m in reminders)
    # A second purge does not remind again; one volunteer opens their page from the reminder.
    assert register.service.purge(base_url=BASE)["reminded"] == 0
    token = register.link(next(m for m in reminders if m["To"] == "back@example.org"))
    assert register.service.open_manage_token(token.rsplit("/", 1)[1]) == back
    register.clock.advance(days=29)
    assert register.service.purge(base_url=BASE)["inactive"] == 0
    register.clock.advance(days=2)
    done = register.service.purge(base_url=BASE)
    assert done["inactive"] == 1
    assert register.service.counts()["active"] == 1
    assert register.service.get(back).state == "active"
    assert quiet not in register.service.open_private([quiet, back])


def test_ended_callouts_go_after_the_setting(register: Register) -> None:
    volunteer_id = register.join()
    now = to_us(register.clock.now)
    day = 86_400_000_000
    with register.engine.begin() as conn:
        for title, state, ended in (("old", "closed", now - 91 * day), ("new", "closed", now),
                                    ("open", "open", now - 200 * day)):  # fmt: skip
            key = conn.execute(
                sa.insert(callouts).values(
                    title=title, message="m", lat=52.09, lon=5.12, radius_km=2, wanted=30,
                    expires_us=ended, state=state, created_by="op", created_us=ended,
                    closed_us=ended if state == "closed" else None,
                )
            ).inserted_primary_key  # fmt: skip
            assert key is not None
            conn.execute(
                sa.insert(callout_targets).values(
                    callout_id=key[0], volunteer_id=volunteer_id, rank=1, distance_m=5,
                    selected_us=ended,
                )
            )  # fmt: skip
    assert register.service.purge()["callouts"] == 1
    assert sorted(h.title for h in register.service.history(volunteer_id)) == ["new", "open"]
    with register.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(callout_targets)).scalar() == 2
