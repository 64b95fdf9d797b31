"""Wiring the public pages into the app: their routers, and the abuse limits' key (a key of its
own, so that the counted addresses cannot be matched against anything else we hash)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from stadspuls.cases.quota import IntakeQuota
from stadspuls.enrich.pseudonymise import load_or_create_key
from stadspuls.settings import Settings
from stadspuls.web.routes import public, public_calls, public_status


def install(app: FastAPI, settings: Settings) -> None:
    app.state.quota_key = load_or_create_key(settings.quota_key_path, "intake quota")
    app.state.quota = IntakeQuota(app.state.engine, settings.inbox, app.state.quota_key)
    # Files wait for a decoder here, not in the decoder's queue: its timeout is meant for one
    # file's decoding, and in a flood of tips a file queued behind twenty others would pass it
    # and be refused as undecodable (the benchmark showed it).
    app.state.intake_slots = asyncio.Semaphore(settings.inbox.decode_workers)
    app.include_router(public.router)
    app.include_router(public_calls.router)
    app.include_router(public_status.router)
