"""Volunteers inside `stadspuls run`: the notifier (web push and e-mail of call-outs, from their
outbox), expiry of call-outs and the retention purge (hourly)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx
import sqlalchemy as sa

from stadspuls.settings import Settings
from stadspuls.volunteers.notify import Notifier
from stadspuls.volunteers.services import build_services, mail_sender
from stadspuls.volunteers.webpush import WebPush, load_or_create_vapid

log = logging.getLogger(__name__)
EXPIRE_EVERY_S = 10.0
PURGE_EVERY_S = 3600.0


def base_url(settings: Settings) -> str:
    """Where the answer links point: the public address, else this server's own."""
    return settings.inbox.public_url or f"http://{settings.host}:{settings.port}"


async def run_volunteers(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    send_mail = mail_sender(settings)
    services = await asyncio.to_thread(build_services, engine, settings, send_mail=send_mail)
    vapid = await asyncio.to_thread(load_or_create_vapid, settings.vapid_key_path)
    limits = httpx.Limits(max_connections=settings.volunteers.notify_concurrency)
    async with httpx.AsyncClient(timeout=20.0, limits=limits) as client:
        push = WebPush(
            vapid,
            subject=settings.volunteers.vapid_subject,
            ttl_s=settings.volunteers.push_ttl_s,
            client=client,
        )
        notifier = Notifier(
            engine, settings, volunteers=services.volunteers, callouts=services.callouts,
            push=push, send_mail=send_mail, base_url=base_url(settings),
        )  # fmt: skip
        expired_at = purged_at = 0.0
        try:
            while not stop.is_set():
                handled = 0
                try:
                    now = time.monotonic()
                    if now - expired_at >= EXPIRE_EVERY_S:
                        expired_at = now
                        await asyncio.to_thread(services.callouts.expire_due)
                    if now - purged_at >= PURGE_EVERY_S:
                        purged_at = now
                        counts = await asyncio.to_thread(services.volunteers.purge)
                        if any(counts.values()):
                            log.info("volunteers retention: %s", counts)
                    handled = await notifier.run_once()
                except Exception:  # the notifier keeps running; the next round retries
                    log.exception("volunteer notifier round failed")
                if not handled:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), settings.volunteers.poll_s)
        finally:
            notifier.close()
