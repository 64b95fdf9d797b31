"""Wiring publishing into the app: the publish service with its targets, the staff pages
(/publicaties), the API (/api/publications) and the public news page with its feeds (/nieuws).
CONTRACT STUB: the owning helper fills it in."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.publish.registry import build_targets
from stadspuls.publish.service import PublishService
from stadspuls.settings import Settings
from stadspuls.web.routes import (
    news,
    publish_compose,
    publish_pages,
    publish_template_pages,
)


def install(app: FastAPI, settings: Settings) -> None:
    targets = build_targets(settings, app.state.engine)
    app.state.publish = PublishService(app.state.engine, settings, targets=targets)
    install_pages(app)


def install_pages(app: FastAPI) -> None:
    """The staff pages and the public news page; they read `app.state.publish`. The fixed
    paths (/publicaties/nieuw, /sjablonen, /voorbeeld) before /publicaties/{id}."""
    app.include_router(publish_compose.router)
    app.include_router(publish_template_pages.router)
    app.include_router(publish_pages.router)
    app.include_router(news.router)
