"""Wiring volunteers and call-outs into the app: the services (sealed with the volunteers' own
keys), the public pages (/vrijwilligers, answers by signed link, the service worker), the staff
call-out screen (/oproepen-vrijwilligers) and the API."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.settings import Settings
from stadspuls.volunteers.services import build_services
from stadspuls.web.routes import callouts_api, volunteer_routes


def install(app: FastAPI, settings: Settings) -> None:
    services = build_services(app.state.engine, settings)
    app.state.volunteers = services.volunteers
    app.state.callouts = services.callouts
    app.include_router(callouts_api.router, prefix="/api")
    # The pages: registration, the volunteer's own page, answers, the staff call-out screen.
    volunteer_routes.include(app, settings)
