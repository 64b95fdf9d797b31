"""The volunteer pages' routers, in one place for `volunteer_site.install`: the public pages
(registration, the volunteer's own page, answers, the service worker) and the staff call-out
screen."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.web.routes import (
    callout_pages,
    volunteer_answer,
    volunteer_pages,
    volunteer_self,
)


def include(app: FastAPI) -> None:
    app.include_router(volunteer_pages.router)
    app.include_router(volunteer_self.router)
    app.include_router(volunteer_answer.router)
    app.include_router(callout_pages.router)
