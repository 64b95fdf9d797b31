"""The application factory. Importing this module opens nothing; `create_app` does."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from stadspuls import __version__
from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from stadspuls.web.routes import health, posts, stats


def create_app(
    settings: Settings, *, engine: sa.Engine | None = None, collector: Any = None
) -> FastAPI:
    """Build the API. `collector` (optional) exposes `sources` with `.name`/`.stats` for /health."""
    app = FastAPI(
        title="Stadspuls",
        version=__version__,
        description="Watch public social media for public safety, with privacy built in.",
    )
    app.state.settings = settings
    app.state.engine = engine if engine is not None else open_store(settings.db_url)
    app.state.collector = collector
    app.include_router(health.router)
    app.include_router(posts.router, prefix="/api")
    app.include_router(stats.router, prefix="/api")
    return app
