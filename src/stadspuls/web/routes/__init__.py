"""Thin API routers; each takes what it needs from `request.app.state`, and reads and changes
stored data only through the read service (`reads`), with the actor `require` gave it."""

from __future__ import annotations

from fastapi import Request

from stadspuls.service.reads import ReadService


def reads(request: Request) -> ReadService:
    """The app's read service (`web.app.create_app` puts it on `app.state.reads`)."""
    service: ReadService = request.app.state.reads
    return service
