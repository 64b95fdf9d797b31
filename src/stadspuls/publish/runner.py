"""Publishing inside `stadspuls run`: scheduled publications released when due, the outbox
sending each delivery to its target with back-off. CONTRACT STUB."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from stadspuls.settings import Settings


async def run_publishing(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    del engine, settings
    await stop.wait()
