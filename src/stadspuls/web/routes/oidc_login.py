"""Single sign-on: GET /login/oidc sends the browser to the OIDC provider, which sends it
back to GET /login/oidc/callback; shown only when `settings.web.oidc` is set."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access import accounts
from stadspuls.access.oidc import STATE_TTL_S, OidcClient, OidcError, Pending
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.web.routes.session import clock, login_page, safe_next, secure, start_session

log = logging.getLogger(__name__)

router = APIRouter(tags=["session"], include_in_schema=False)

OIDC_COOKIE = "stadspuls_oidc"
UNAVAILABLE = "Single sign-on is not available right now. Try again later."
FAILED = "Single sign-on did not succeed. Please try again."
NAME_TAKEN = "An account with your user name exists already. Ask an administrator."
DISABLED = "Your account is disabled. Ask an administrator."


def _client(request: Request) -> OidcClient:
    settings: Settings = request.app.state.settings
    if settings.web.oidc is None:
        raise HTTPException(404, "single sign-on is not configured")
    found: OidcClient | None = getattr(request.app.state, "oidc_client", None)
    if found is None or found.settings is not settings.web.oidc:
        # One client per app: it keeps the provider's discovery document and keys.
        found = OidcClient(settings.web.oidc)
        request.app.state.oidc_client = found
    return found


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.reads.sealer
    return sealer


def _failed(request: Request, message: str, status: int) -> Response:
    response = login_page(request, next_path="/", status=status, error=message)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return response


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/login/oidc")
def oidc_start(request: Request, next: str | None = None) -> Response:
    client = _client(request)
    try:
        url, pending = client.start(_callback_url(request), safe_next(next), clock(request)())
    except OidcError as error:
        log.warning("single sign-on: %s", error)
        return _failed(request, UNAVAILABLE, 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        OIDC_COOKIE,
        pending.seal(_sealer(request)),
        max_age=STATE_TTL_S,
        path="/login/oidc",
        httponly=True,
        # Lax: the cookie must come along on the provider's top-level redirect back to us.
        samesite="lax",
        secure=secure(request),
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request, code: str = "", state: str = "", error: str | None = None
) -> Response:
    client = _client(request)
    settings: Settings = request.app.state.settings
    assert settings.web.oidc is not None
    now = clock(request)()
    try:
        pending = Pending.unseal(_sealer(request), request.cookies.get(OIDC_COOKIE, ""), now)
        if error is not None:
            raise OidcError(f"the provider answered: {error}")
        identity = client.finish(_callback_url(request), pending, state, code, now)
    except OidcError as failure:
        log.warning("single sign-on refused: %s", failure)
        return _failed(request, FAILED, 400)
    engine: sa.Engine = request.app.state.engine
    try:
        user = accounts.user_for_oidc(
            engine,
            identity.subject,
            identity.username,
            display_name=identity.display_name,
            role=identity.role,
            default_role=settings.web.oidc.default_role,
        )
    except accounts.AccountError as failure:
        log.warning("single sign-on for %s refused: %s", identity.subject, failure)
        return _failed(request, NAME_TAKEN, 409)
    if not user.active or user.id is None:
        return _failed(request, DISABLED, 403)
    response = start_session(request, user.id, pending.next)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return response
