"""How long until 1,000 call-out notifications (500 web push, 500 e-mail) have been handed to a
push service and an SMTP server, both real and local: the push service of the tests (it checks
each VAPID signature and decrypts each payload) and aiosmtpd, in a process of their own.

500 volunteers near the Dom in Utrecht, each with push and e-mail, are registered through the
register's own door; three call-outs select them (at most 200 per call-out); the notifier
(`volunteers/notify.py`, as `stadspuls run` has it) then sends everything that is due. Timed:
from the first claim until the last notification is recorded as sent. Target < 30 s.

    python bench/callout_notify.py            # prints {"notify_1000_s": ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import sys
import tempfile
import time
from datetime import timedelta
from email.message import EmailMessage
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller

from stadspuls.access.roles import cli_actor
from stadspuls.records import utcnow
from stadspuls.settings import BlueskySettings, Settings, SmtpSettings
from stadspuls.store import callout_notifications as outbox
from stadspuls.store.database import open_store
from stadspuls.volunteers.notify import Notifier
from stadspuls.volunteers.records import CallOut, PushSubscription, Registration
from stadspuls.volunteers.services import build_services, mail_sender
from stadspuls.volunteers.webpush import WebPush, load_or_create_vapid
from tests.support.http import closed_port, serve
from tests.support.push_service import PushService
from tests.support.smtp_server import SmtpInbox

DOM = (52.0907, 5.1214)
BASE = "https://stadspuls.example"


def _servers(conn: Connection) -> None:
    """The other side, in a process of its own (as a push service and a mail server are other
    machines): aiosmtpd and the push service; answers "subscribe" and "counts" over `conn`."""
    inbox, port = SmtpInbox(), closed_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    service = PushService()

    async def run() -> None:
        async with serve(service.app) as origin:
            service.origin = origin
            conn.send((origin, port))
            loop = asyncio.get_running_loop()
            while True:
                command, argument = await loop.run_in_executor(None, conn.recv)
                if command == "subscribe":
                    subs = [service.subscribe() for _ in range(argument)]
                    conn.send([msgspec.structs.asdict(sub) for sub in subs])
                elif command == "counts":
                    conn.send(
                        {"push_accepted": len(service.received),
                         "push_refused": len(service.refused),
                         "email_accepted": len(inbox.messages)}
                    )  # fmt: skip
                else:
                    break

    try:
        asyncio.run(run())
    finally:
        smtp.stop()


def _point(i: int, n: int) -> tuple[float, float]:
    """A spiral of points within ~4 km of the Dom."""
    angle, km = i * 2.399963, 4.0 * math.sqrt((i + 0.5) / n)
    lat = DOM[0] + km * math.sin(angle) / 111.32
    return lat, DOM[1] + km * math.cos(angle) / (111.32 * math.cos(math.radians(DOM[0])))


def measure_notify(volunteers: int = 500, *, concurrency: int | None = None) -> dict[str, Any]:
    """Register `volunteers` (push and e-mail each), call them out, time the notifier until
    every notification was accepted. Returns {"notify_1000_s": ..., ...}."""
    folder = Path(tempfile.mkdtemp(prefix="stadspuls-notify-"))
    here, there = multiprocessing.get_context("spawn").Pipe()
    servers = multiprocessing.get_context("spawn").Process(target=_servers, args=(there,))
    servers.start()
    try:
        _origin, port = here.recv()
        here.send(("subscribe", volunteers))
        subscriptions = [PushSubscription(**sub) for sub in here.recv()]
        settings = Settings(
            db_url=f"sqlite:///{folder / 'stadspuls.db'}",
            key_file=folder / "secrets" / "pseudonym.key",
            mastodon=[], feeds=[], bluesky=BlueskySettings(enabled=False),
            smtp=SmtpSettings(host="127.0.0.1", port=port, starttls=False),
        )  # fmt: skip
        if concurrency is not None:
            settings.volunteers.notify_concurrency = concurrency
        engine = open_store(settings.db_url)
        mails: list[EmailMessage] = []
        services = build_services(engine, settings, send_mail=mails.append)
        for i in range(volunteers):
            lat, lon = _point(i, volunteers)
            registration = Registration(
                name=f"Vrijwilliger {i}", email=f"v{i}@example.org", lat=lat, lon=lon,
                radius_km=10.0, channels=("push", "email"), push=subscriptions[i],
                consent=True,
            )  # fmt: skip
            services.volunteers.register(registration, base_url=BASE)
            link = next(w for w in mails[-1].get_content().split() if w.startswith(BASE))
            services.volunteers.confirm(link.rsplit("/", 1)[1])
        operator = cli_actor("bench", "analyst")
        left = volunteers
        while left > 0:
            wanted = min(left, 200)
            services.callouts.create(
                operator,
                CallOut(
                    title="Oproep", message="Hulp gevraagd bij de Dom.", lat=DOM[0], lon=DOM[1],
                    radius_km=10.0, wanted=wanted, expires_at=utcnow() + timedelta(hours=1),
                ),
            )  # fmt: skip
            left -= wanted
        queued = sum(outbox.counts(engine).values())

        async def send() -> tuple[float, int]:
            limits = httpx.Limits(max_connections=settings.volunteers.notify_concurrency)
            async with httpx.AsyncClient(limits=limits) as client:
                push = WebPush(
                    load_or_create_vapid(settings.vapid_key_path),
                    subject=settings.volunteers.vapid_subject,
                    ttl_s=settings.volunteers.push_ttl_s, client=client,
                )  # fmt: skip
                notifier = Notifier(
                    engine, settings, volunteers=services.volunteers, callouts=services.callouts,
                    push=push, send_mail=mail_sender(settings), base_url=BASE,
                )  # fmt: skip
                try:
                    started = time.perf_counter()
                    handled = await notifier.drain()
                    return time.perf_counter() - started, handled
                finally:
                    notifier.close()

        elapsed, handled = asyncio.run(send())
        states = outbox.counts(engine)
        engine.dispose()
        here.send(("counts", None))
        accepted = here.recv()
    finally:
        here.send(("stop", None))
        servers.join(10)
    return {
        "notify_1000_s": round(elapsed, 2),
        "notifications": queued,
        "handled": handled,
        "states": states,
        "concurrency": settings.volunteers.notify_concurrency,
    } | accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=500, help="each gets push and e-mail")
    parser.add_argument("--concurrency", type=int, default=None, help="notify_concurrency")
    args = parser.parse_args()
    result = measure_notify(args.volunteers, concurrency=args.concurrency)
    print(json.dumps(result, sort_keys=True), file=sys.stderr)
    print(json.dumps({"notify_1000_s": result["notify_1000_s"]}))


if __name__ == "__main__":
    main()
