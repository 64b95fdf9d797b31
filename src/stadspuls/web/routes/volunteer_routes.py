"""The volunteer pages' routers, in one place for `volunteer_site.install`: the public pages
(registration, the volunteer's own page, answers, the service worker) and the staff call-out
screen."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.settings import Settings
from stadspuls.volunteers.webpush import application_server_key, load_or_create_vapid
from stadspuls.web.routes import (
    callout_pages,
    volunteer_answer,
    volunteer_pages,
    volunteer_self,
)


def include(app: FastAPI, settings: Settings) -> None:
    # The key the volunteers' browsers subscribe with (the VAPID pair is made on first run).
    app.state.vapid_public_key = application_server_key(
        load_or_create_vapid(settings.vapid_key_path)
    )
    app.include_router(volunteer_pages.router)
    app.include_router(volunteer_self.router)
    app.include_router(volunteer_answer.router)
    app.include_router(callout_pages.router)
