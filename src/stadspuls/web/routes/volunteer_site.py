"""Wiring volunteers and call-outs into the app: the services (sealed with the volunteers' own
keys), the public pages (/vrijwilligers, answers by signed link, the service worker), the staff
call-out screen (/oproepen-vrijwilligers) and the API. CONTRACT STUB: the owning helper fills
it in."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.settings import Settings
from stadspuls.web.routes import volunteer_routes


def install(app: FastAPI, settings: Settings) -> None:
    del settings
    # The pages: registration, the volunteer's own page, answers, the staff call-out screen.
    volunteer_routes.include(app)
