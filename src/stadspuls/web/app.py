"""The application factory. Importing this module opens nothing; `create_app` does."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from stadspuls import __version__
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.monitors import MonitorError
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from stadspuls.web.routes import health, monitors, posts, stats


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
    app.state.pseudonymise = Pseudonymiser(load_or_create_key(settings.key_file)).pseudonym
    app.include_router(health.router)
    app.include_router(posts.router, prefix="/api")
    app.include_router(stats.router, prefix="/api")
    app.include_router(monitors.router, prefix="/api")

    @app.exception_handler(QuerySyntaxError)
    async def _query_error(_request: Request, error: QuerySyntaxError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "column": error.column}, status_code=422)

    @app.exception_handler(MonitorError)
    async def _monitor_error(_request: Request, error: MonitorError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "column": None}, status_code=422)

    return app
