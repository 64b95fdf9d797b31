"""The notifier end to end: call-outs handed to a real SMTP server (aiosmtpd) and a real push
service on loopback that checks VAPID and decrypts; the answer links in what arrives work; a
gone subscription is removed; busy services are retried; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from stadspuls.settings import Settings, SmtpSettings
from stadspuls.store import callout_notifications as outbox
from stadspuls.store.rows import to_us
from stadspuls.store.schema import callout_notifications
from stadspuls.volunteers.notify import Notifier
from stadspuls.volunteers.services import mail_sender
from stadspuls.volunteers.webpush import WebPush, load_or_create_vapid
from tests.support.http import closed_port, serve
from tests.support.push_service import PushService
from tests.support.smtp_server import SmtpInbox
from tests.volunteers.callout_support import OPERATOR, CallOuts, callouts_on
from tests.volunteers.conftest import BASE, Register

LINK = re.compile(re.escape(BASE) + r"/vrijwilligers/antwoord/(\S+)")


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    inbox, port = SmtpInbox(), closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def mailing(settings: Settings, smtp_server: tuple[SmtpInbox, int]) -> Settings:
    smtp = SmtpSettings(
        host="127.0.0.1", port=smtp_server[1], starttls=False, sender="oproep@gemeente.example"
    )
    return settings.model_copy(update={"smtp": smtp})


def _notifier(co: CallOuts, settings: Settings, client: httpx.AsyncClient, key: Path) -> Notifier:
    push = WebPush(
        load_or_create_vapid(key), subject=settings.volunteers.vapid_subject, ttl_s=60,
        client=client,
    )  # fmt: skip
    return Notifier(
        co.register.engine, settings, volunteers=co.register.service, callouts=co.service,
        push=push, send_mail=mail_sender(settings), base_url=BASE, clock=co.register.clock,
    )  # fmt: skip


def _states(engine: sa.Engine) -> dict[tuple[int, str], str]:
    n = callout_notifications
    with engine.connect() as conn:
        rows = conn.execute(sa.select(n.c.target_id, n.c.channel, n.c.state)).all()
    return {(t, c): s for t, c, s in rows}


def test_push_and_mail_arrive_their_links_answer_and_gone_is_removed(
    register: Register, mailing: Settings, smtp_server: tuple[SmtpInbox, int], tmp_path: Path
) -> None:
    inbox, _ = smtp_server
    co = callouts_on(register, mailing)
    service = PushService()

    async def scenario() -> tuple[int, int]:
        async with serve(service.app) as origin, httpx.AsyncClient() as client:
            service.origin = origin
            browser, stale = service.subscribe(), service.subscribe()
            service.gone.add(service.sid(stale))
            service.fail_next[service.sid(browser)] = [429]  # busy once
            ids["mail"] = co.volunteer(0.4, "Anouk")
            ids["both"] = co.volunteer(0.8, "Bas", channels=("email", "push"), push=browser)
            ids["gone"] = co.volunteer(1.2, "Cor", channels=("push",), push=stale)
            ids["refused"] = co.volunteer(1.6, "Onbekend")  # onbekend@: 550 from the server
            callout = co.callout()
            assert callout.id is not None
            ids["callout"] = callout.id
            notifier = _notifier(co, mailing, client, tmp_path / "vapid.pem")
            try:
                first = await notifier.drain()
                co.register.clock.advance(minutes=10)  # past the back-off
                second = await notifier.drain()
            finally:
                notifier.close()
            return first, second

    ids: dict[str, int] = {}
    assert asyncio.run(scenario()) == (5, 1)  # 5 rows; the busy push once more
    targets = {t.volunteer_id: t for t in co.service.targets(OPERATOR, ids["callout"])}
    assert targets[ids["mail"]].reached == ("email",)
    assert targets[ids["both"]].reached == ("email", "push")
    assert targets[ids["gone"]].reached == ()
    assert targets[ids["refused"]].reached == ()
    states = _states(register.engine)
    assert states[targets[ids["gone"]].id, "push"] == "gone"
    assert states[targets[ids["refused"]].id, "email"] == "failed"
    assert sorted(states.values()) == ["failed", "gone", "sent", "sent", "sent"]
    # The push service said the stale subscription is gone: it is no longer kept.
    private = register.service.get(ids["gone"], private=True).private
    assert private is not None
    assert private.push == ()
    # The mails: to the two addresses that exist, with three working answer links each.
    assert sorted(r[0] for r in inbox.recipients) == ["anouk@example.org", "bas@example.org"]
    anouk = next(m for m in inbox.messages if m["To"] == "anouk@example.org")
    assert anouk["Subject"] == "Oproep / call-out: Vermist kind"
    body = anouk.get_content()
    assert "rode jas" in body
    assert "Dear Anouk" in body
    links = LINK.findall(body)
    assert len(links) == 6  # three in Dutch, the same three in English
    answered = co.service.answer(links[0])
    assert (answered.volunteer_id, answered.answer) == (ids["mail"], "accepted")
    # The push: decrypted by the service as a service worker would read it.
    (pushed,) = service.received
    message = pushed.json()
    assert message["title"] == "Vermist kind"
    assert "rode jas" in str(message["body"])
    actions = message["actions"]
    assert isinstance(actions, list)
    assert [a["action"] for a in actions] == ["accepted", "declined"]
    declined = co.service.answer(LINK.match(actions[1]["url"]).group(1))  # type: ignore[union-attr]
    assert (declined.volunteer_id, declined.answer) == (ids["both"], "declined")
    # The log: what was sent, what failed and why.
    events = co.service.events(OPERATOR, ids["callout"])
    sent = sorted((e.details["rank"], e.details["channel"]) for e in events if e.kind == "sent")
    assert sent == [(1, "email"), (2, "email"), (2, "push")]
    failed = [e.details for e in events if e.kind == "delivery_failed"]
    assert {(d["rank"], d["channel"], bool(d.get("retry"))) for d in failed} == {
        (2, "push", True), (3, "push", False), (4, "email", False)
    }  # fmt: skip
    assert any("550" in str(d["error"]) for d in failed)


def test_nothing_is_sent_for_a_call_out_that_ended(
    register: Register, mailing: Settings, smtp_server: tuple[SmtpInbox, int], tmp_path: Path
) -> None:
    inbox, _ = smtp_server
    co = callouts_on(register, mailing)
    co.volunteer(0.4, "Daan")
    callout = co.callout()
    assert callout.id is not None
    co.service.close(OPERATOR, callout.id)

    async def scenario() -> int:
        async with httpx.AsyncClient() as client:
            notifier = _notifier(co, mailing, client, tmp_path / "vapid.pem")
            try:
                return await notifier.drain()
            finally:
                notifier.close()

    assert asyncio.run(scenario()) == 1
    assert inbox.messages == []
    assert list(_states(register.engine).values()) == ["failed"]


def test_an_smtp_server_that_is_down_is_retried_not_given_up(
    register: Register, settings: Settings, tmp_path: Path
) -> None:
    down = SmtpSettings(host="127.0.0.1", port=closed_port(), starttls=False)
    config = settings.model_copy(update={"smtp": down})
    co = callouts_on(register, config)
    co.volunteer(0.4, "Eva")
    co.callout()

    async def scenario() -> int:
        async with httpx.AsyncClient() as client:
            notifier = _notifier(co, config, client, tmp_path / "vapid.pem")
            try:
                return await notifier.drain()
            finally:
                notifier.close()

    assert asyncio.run(scenario()) == 1
    n = callout_notifications
    with register.engine.connect() as conn:
        state, attempts, error = conn.execute(
            sa.select(n.c.state, n.c.attempts, n.c.last_error)
        ).one()
    assert (state, attempts) == ("pending", 1)
    assert "smtp" in error


def test_two_notifiers_never_claim_the_same_row(register: Register, settings: Settings) -> None:
    co = callouts_on(register, settings)
    for i in range(5):
        co.volunteer(0.2 + i / 10, f"V{i}")
    co.callout()
    now_us = to_us(register.clock.now)
    first = outbox.claim_due(register.engine, now_us, lease_us=60_000_000, limit=3)
    second = outbox.claim_due(register.engine, now_us, lease_us=60_000_000, limit=100)
    assert len(first) == 3
    assert len(second) == 2
    assert not {n.id for n in first} & {n.id for n in second}
    assert outbox.claim_due(register.engine, now_us, lease_us=60_000_000, limit=100) == []
    # The lease ends: what was not reported is claimable again (at-least-once).
    later = outbox.claim_due(register.engine, now_us + 61_000_000, lease_us=1, limit=100)
    assert len(later) == 5


def test_nothing_is_sent_to_who_paused_or_left_after_being_selected(
    register: Register, mailing: Settings, smtp_server: tuple[SmtpInbox, int], tmp_path: Path
) -> None:
    inbox, _ = smtp_server
    co = callouts_on(register, mailing)
    paused = co.volunteer(0.4, "Gerrit")
    left = co.volunteer(0.6, "Hilde")
    stays = co.volunteer(0.8, "Ivo")
    callout = co.callout()
    assert callout.id is not None
    register.service.pause(paused)
    register.service.leave(left)

    async def scenario() -> int:
        async with httpx.AsyncClient() as client:
            notifier = _notifier(co, mailing, client, tmp_path / "vapid.pem")
            try:
                return await notifier.drain()
            finally:
                notifier.close()

    assert asyncio.run(scenario()) == 3
    assert [m["To"] for m in inbox.messages] == ["ivo@example.org"]
    errors = {
        e.details["rank"]: e.details["error"]
        for e in co.service.events(OPERATOR, callout.id)
        if e.kind == "delivery_failed"
    }
    assert errors == {1: "the volunteer is paused", 2: "the volunteer left"}
    targets = co.service.targets(OPERATOR, callout.id)
    assert [t.reached for t in targets] == [(), (), ("email",)]
    assert targets[2].volunteer_id == stays
