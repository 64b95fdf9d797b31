"""`run_volunteers` as `stadspuls run` starts it: the services and the VAPID key from the
settings, the notifier sending what a call-out queued, expiry of due call-outs; it stops when
asked."""

from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from stadspuls.access.roles import cli_actor
from stadspuls.records import utcnow
from stadspuls.settings import Settings, SmtpSettings
from stadspuls.store.database import open_store
from stadspuls.volunteers.records import CallOut
from stadspuls.volunteers.runner import run_volunteers
from stadspuls.volunteers.services import build_services
from tests.support.http import closed_port
from tests.support.smtp_server import SmtpInbox
from tests.volunteers.callout_support import DOM, enlist


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    inbox, port = SmtpInbox(), closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_the_runner_sends_expires_and_stops(
    settings: Settings, smtp_server: tuple[SmtpInbox, int]
) -> None:
    inbox, port = smtp_server
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False)
    config = settings.model_copy(
        update={"smtp": smtp, "volunteers": settings.volunteers.model_copy(update={"poll_s": 0.05})}
    )
    engine = open_store(config.db_url)
    mails: list[EmailMessage] = []
    services = build_services(engine, config, send_mail=mails.append)
    enlist(services.volunteers, mails, "Femke", 0.5)
    operator = cli_actor("meldkamer", "analyst")

    def callout(seconds: float) -> CallOut:
        expires_at = utcnow() + timedelta(seconds=seconds)
        return CallOut(
            title="Hulp", message="Zandzakken.", lat=DOM[0], lon=DOM[1], expires_at=expires_at
        )

    soon = services.callouts.create(operator, callout(1))
    sent = services.callouts.create(operator, callout(3600))
    time.sleep(1.1)  # `soon` ends before the runner starts: it is expired, not sent

    async def scenario() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(run_volunteers(engine, config, stop))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if inbox.messages:
                break
        stop.set()
        await asyncio.wait_for(runner, 10)

    asyncio.run(scenario())
    assert [m["To"] for m in inbox.messages] == ["femke@example.org"]
    assert config.vapid_key_path.exists()
    assert stat.S_IMODE(config.vapid_key_path.stat().st_mode) == 0o600
    assert sent.id is not None
    assert soon.id is not None
    kinds = [e.kind for e in services.callouts.events(operator, sent.id)]
    assert kinds == ["created", "selected", "sent"]
    assert services.callouts.get(operator, soon.id).state == "expired"
    ended = services.callouts.events(operator, soon.id)
    assert [e.kind for e in ended] == ["created", "selected", "expired", "delivery_failed"]
    assert ended[-1].details["error"] == "the call-out ended before it was sent"
    engine.dispose()
