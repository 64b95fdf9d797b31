"""Wiring the public pages into the app: their routers, and the abuse limits' key (a key of its
own, so that the counted addresses cannot be matched against anything else we hash)."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.cases.quota import IntakeQuota
from stadspuls.enrich.pseudonymise import load_or_create_key
from stadspuls.settings import Settings
from stadspuls.web.routes import public, public_calls, public_status


def install(app: FastAPI, settings: Settings) -> None:
    app.state.quota_key = load_or_create_key(settings.quota_key_path, "intake quota")
    app.state.quota = IntakeQuota(app.state.engine, settings.inbox, app.state.quota_key)
    app.include_router(public.router)
    app.include_router(public_calls.router)
    app.include_router(public_status.router)
