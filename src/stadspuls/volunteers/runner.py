"""Volunteers inside `stadspuls run`: the notifier (web push and e-mail of call-outs, from their
outbox), expiry of call-outs and the retention purge. CONTRACT STUB."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from stadspuls.settings import Settings


async def run_volunteers(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    del engine, settings
    await stop.wait()
