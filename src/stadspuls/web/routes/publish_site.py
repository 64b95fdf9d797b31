"""Wiring publishing into the app: the publish service with its targets, the staff pages
(/publicaties), the API (/api/publications, /api/publish) and the public news page with its
feeds (/nieuws). The pages are added here by their own routers."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.publish.registry import build_targets
from stadspuls.publish.service import PublishService
from stadspuls.settings import Settings
from stadspuls.web.routes import (
    news,
    publish_api,
    publish_compose,
    publish_pages,
    publish_template_pages,
)


def install(app: FastAPI, settings: Settings) -> None:
    engine = app.state.engine
    # The web previews and composes; sending is the outbox's, in `stadspuls run`.
    app.state.publish = PublishService(engine, settings, targets=build_targets(settings, engine))
    app.include_router(publish_api.router, prefix="/api")
    install_pages(app)


def install_pages(app: FastAPI) -> None:
    """The staff pages and the public news page; they read `app.state.publish`. The fixed
    paths (/publicaties/nieuw, /sjablonen, /voorbeeld) before /publicaties/{id}."""
    app.include_router(publish_compose.router)
    app.include_router(publish_template_pages.router)
    app.include_router(publish_pages.router)
    app.include_router(news.router)
