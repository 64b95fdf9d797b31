"""The application factory. Importing this module opens nothing; `create_app` does."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from stadspuls import __version__
from stadspuls.alerts.rules import RuleError
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.checks import AdminError, AlreadyExists
from stadspuls.cases.service import CaseService, CaseStateError
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.media.intake import MediaIntake
from stadspuls.monitors import MonitorError
from stadspuls.publish.service import PublishError, PublishStateError
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.sealed import Sealer
from stadspuls.service.errors import Forbidden, NotFound, ReasonRequired
from stadspuls.service.reads import ReadService
from stadspuls.settings import Settings
from stadspuls.store.alerts import AlertStateError
from stadspuls.store.database import open_store
from stadspuls.store.monitors import MonitorExists
from stadspuls.store.search import SearchTimeout
from stadspuls.volunteers.errors import AlreadyRegistered, BadLink, VolunteerError
from stadspuls.web import pages
from stadspuls.web.assets import static_files
from stadspuls.web.routes import (
    account,
    admin_users,
    alerts,
    cases_actions,
    cases_api,
    cases_pages,
    dashboard,
    governance,
    health,
    inbox,
    inbox_admin,
    inbox_admin_api,
    map_page,
    media,
    monitors,
    oidc_login,
    posts,
    public_site,
    publish_site,
    session,
    stats,
    volunteer_site,
)


def swagger_ui_dir() -> Path:
    """Swagger UI 5 (it reads OpenAPI 3.1, as FastAPI writes it) from PyPI's swagger-ui-py."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("the package swagger-ui-py is not installed")
    return Path(spec.origin).parent / "static"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # The photo decoders are worker processes: stop them with the server.
    await app.state.media.close()


def create_app(
    settings: Settings, *, engine: sa.Engine | None = None, collector: Any = None
) -> FastAPI:
    """Build the API. `collector` (optional) exposes `sources` with `.name`/`.stats` for /health."""
    app = FastAPI(
        lifespan=_lifespan,
        title="Stadspuls",
        version=__version__,
        description="Watch public social media for public safety, with privacy built in.",
        docs_url=None,  # served below from local files: FastAPI's default loads them from a CDN
        redoc_url=None,
    )
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_dir()), name="swagger")
    app.mount("/static", static_files(), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Stadspuls API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    app.state.settings = settings
    app.state.engine = (
        engine
        if engine is not None
        else open_store(settings.db_url, cache_mib=settings.sqlite_cache_mib)
    )
    app.state.collector = collector
    app.state.pseudonymise = Pseudonymiser(load_or_create_key(settings.key_file)).pseudonym
    app.state.reads = ReadService(app.state.engine, settings, pseudonymise=app.state.pseudonymise)
    # The inbox: citizens' contact details are sealed under their own key (docs/inbox.md).
    contact_sealer = Sealer(load_or_create_key(settings.contact_key_path, "contact"))
    app.state.cases = CaseService(app.state.engine, settings, sealer=contact_sealer)
    app.state.case_admin = CaseAdmin(app.state.engine, settings)
    app.state.media = MediaIntake(settings.inbox)
    app.include_router(health.router)
    app.include_router(posts.router, prefix="/api")
    app.include_router(stats.router, prefix="/api")
    app.include_router(monitors.router, prefix="/api")
    app.include_router(alerts.router, prefix="/api")
    app.include_router(governance.router, prefix="/api")
    app.include_router(dashboard.router, prefix="/api")
    app.include_router(cases_api.router, prefix="/api")
    app.include_router(inbox_admin_api.router, prefix="/api")
    app.include_router(session.router)
    app.include_router(account.router)
    app.include_router(admin_users.router)
    app.include_router(oidc_login.router)
    # `/alerts/ID` is also the link e-mails and webhooks carry.
    app.include_router(inbox.router)
    app.include_router(map_page.router)
    # The staff inbox: `/cases` and a case's page, and the forms that change a case.
    app.include_router(cases_pages.router)
    app.include_router(cases_actions.router)
    # The public intake for citizens (/melden, /oproep, /status): no login.
    public_site.install(app, settings)
    # Citizens' photos for staff: thumbnails, stripped copies, originals (logged), exports.
    app.include_router(media.router)
    app.include_router(inbox_admin.router)  # /inbox/settings/... and /calls
    # Publishing (zenden): staff pages, API, the public news page and feeds.
    publish_site.install(app, settings)
    # Volunteers: public registration and answers, the staff call-out screen, the API.
    volunteer_site.install(app, settings)
    pages.install(app)
    _answer_errors(app)
    return app


# What the read service and the store refuse, as the status code a client can act on: the one
# place that maps them, so every route answers alike.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Forbidden, 403),  # the role lacks the permission (or re-identify is not granted)
    (NotFound, 404),
    (MonitorExists, 409),
    (AlertStateError, 409),  # acknowledged already (it says by whom), closed already
    (CaseStateError, 409),  # a case's state does not allow the change (closed, same state)
    (ReasonRequired, 422),
    (MonitorError, 422),
    (RuleError, 422),
    (AdminError, 422),  # an inbox setting that cannot be right (hours, places, placeholders)
    (AlreadyExists, 409),  # a department, template or call by that name exists
    (PublishStateError, 409),  # approving one's own publication outside crisis mode, ...
    (PublishError, 422),
    (AlreadyRegistered, 409),  # before VolunteerError: a subclass of it
    (VolunteerError, 422),  # unknown postcode, point outside the Netherlands, radius, ...
    (BadLink, 400),  # a forged or expired signed link
    # 503, not 422: the same query may finish on a quieter server or a narrower range.
    (SearchTimeout, 503),
)


def _answer_errors(app: FastAPI) -> None:
    @app.exception_handler(QuerySyntaxError)
    async def _query_error(_request: Request, error: QuerySyntaxError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "column": error.column}, status_code=422)

    for kind, status in _STATUS:

        async def _answer(
            _request: Request, error: Exception, status: int = status
        ) -> JSONResponse:
            body: dict[str, object] = {"detail": str(error), "column": None}
            if getattr(error, "field", None) is not None:  # the form field (PublishError)
                body["field"] = error.field  # type: ignore[attr-defined]
            return JSONResponse(body, status_code=status)

        app.add_exception_handler(kind, _answer)
