"""Logging in and out: the password step, the second factor, and the session cookie.

The login form is protected against cross-site posting too (a forged login would sign the
victim in as the attacker): GET /login sets a random double-submit cookie that the form sends
back in its hidden `csrf` field. Wrong credentials get one message that never says whether the
name or the password was wrong, and take the same time either way.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access import accounts, passwords, totp
from stadspuls.access.ratelimit import RateLimiter, address_key, user_key
from stadspuls.sealed import SealError
from stadspuls.settings import Settings
from stadspuls.store import users as store
from stadspuls.web.auth import CSRF_HEADER, SESSION_COOKIE, check_csrf, identify
from stadspuls.web.routes.pages import form_fields
from stadspuls.web.templating import render

router = APIRouter(tags=["session"], include_in_schema=False)

LOGIN_CSRF_COOKIE = "stadspuls_login_csrf"
# The password step's session waits this long for the second factor.
PENDING_TTL_S = 300

WRONG = "Wrong user name or password."
WRONG_CODE = "That code is not right, or was used already. Wait for the next code."
LOCKED = "Too many failed attempts. Try again in %(minutes)s minutes."
EXPIRED_FORM = "This form had expired. Please try again."


def clock(request: Request) -> Callable[[], float]:
    """The wall clock; tests put another on `app.state.clock` instead of sleeping."""
    found: Callable[[], float] = getattr(request.app.state, "clock", time.time)
    return found


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def secure(request: Request) -> bool:
    configured = _settings(request).web.secure_cookies
    return configured if configured is not None else request.url.scheme == "https"


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another site, `//host`, a scheme,
    a backslash some browsers read as a slash) becomes "/"."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def set_session_cookie(request: Request, response: Response, token: str, ttl_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def session_ttl_s(request: Request) -> int:
    return int(_settings(request).web.session_hours * 3600)


def start_session(request: Request, user_id: int, next_path: str) -> RedirectResponse:
    """A full session for the user (a fresh token: never one an attacker could have set)."""
    engine = _engine(request)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        store.delete_session(engine, old)
    ttl = session_ttl_s(request)
    token, _csrf = store.create_session(engine, user_id, ttl_s=ttl)
    store.mark_login(engine, user_id)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(request, response, token, ttl)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _limiter(request: Request) -> RateLimiter:
    return RateLimiter(_engine(request), _settings(request).web, clock(request))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_page(
    request: Request,
    *,
    next_path: str,
    status: int = 200,
    error: str | None = None,
    params: dict[str, Any] | None = None,
    username: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    form_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    oidc = _settings(request).web.oidc
    response = render(
        request,
        "login.html",
        {
            "form_csrf": form_csrf,
            "next": next_path,
            "error": error,
            "error_params": params or {},
            "username": username,
            "oidc_label": None if oidc is None else oidc.label,
            "first_run": accounts.first_run_hint(_engine(request)) is not None,
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        form_csrf,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _locked(request: Request, seconds: int, next_path: str, username: str, page: str) -> Response:
    minutes = max(1, -(-seconds // 60))
    headers = {"Retry-After": str(seconds)}
    if page == "totp":
        return _totp_page(request, next_path, 429, LOCKED, {"minutes": minutes}, headers)
    return login_page(
        request,
        next_path=next_path,
        status=429,
        error=LOCKED,
        params={"minutes": minutes},
        username=username,
        headers=headers,
    )


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    identity = identify(request)
    if identity is not None and identity.session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_page(request, next_path=safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await form_fields(request)
    next_path = safe_next(form.get("next"))
    username = form.get("username", "").strip()
    password = form.get("password", "")
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
        return login_page(
            request, next_path=next_path, status=403, error=EXPIRED_FORM, username=username
        )
    limiter = _limiter(request)
    keys = [user_key(username), address_key(client_address(request))]
    if wait := limiter.retry_after(keys):
        return _locked(request, wait, next_path, username, "login")
    engine = _engine(request)
    found = store.credentials(engine, username) if username else None
    if found is None:
        passwords.burn(password)
        verified = passwords.Verified(False)
    else:
        verified = passwords.verify(found[1], password)
    if found is None or not verified.ok or not found[0].active:
        if locked := limiter.failed(keys):
            return _locked(request, locked, next_path, username, "login")
        return login_page(request, next_path=next_path, status=401, error=WRONG, username=username)
    user = found[0]
    assert user.id is not None
    limiter.succeeded(username)
    if verified.rehashed is not None:
        with engine.begin() as conn:
            store.set_password_hash(conn, user.id, verified.rehashed)
    if not user.totp:
        return start_session(request, user.id, next_path)
    token, _csrf = store.create_session(engine, user.id, ttl_s=PENDING_TTL_S, pending_totp=True)
    response = RedirectResponse(f"/login/totp?next={quote(next_path, safe='')}", status_code=303)
    set_session_cookie(request, response, token, PENDING_TTL_S)
    return response


def _pending(request: Request) -> tuple[str, store.SessionInfo] | None:
    token = request.cookies.get(SESSION_COOKIE)
    info = None if token is None else store.session_for(_engine(request), token)
    if token is None or info is None or not info.pending_totp:
        return None
    return token, info


def _totp_page(
    request: Request,
    next_path: str,
    status: int = 200,
    error: str | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    pending = _pending(request)
    response = render(
        request,
        "login_totp.html",
        {
            "form_csrf": None if pending is None else pending[1].csrf,
            "next": next_path,
            "error": error,
            "error_params": params or {},
        },
        status=status,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@router.get("/login/totp")
def totp_form(request: Request, next: str | None = None) -> Response:
    if _pending(request) is None:
        return RedirectResponse(f"/login?next={quote(safe_next(next), safe='')}", 303)
    return _totp_page(request, safe_next(next))


@router.post("/login/totp")
async def totp_login(request: Request) -> Response:
    form = await form_fields(request)
    next_path = safe_next(form.get("next"))
    pending = _pending(request)
    if pending is None:
        return RedirectResponse(f"/login?next={quote(next_path, safe='')}", 303)
    token, info = pending
    if not hmac.compare_digest(info.csrf, form.get("csrf", "")):
        return _totp_page(request, next_path, 403, EXPIRED_FORM)
    limiter = _limiter(request)
    username = info.actor.username
    keys = [user_key(username), address_key(client_address(request))]
    if wait := limiter.retry_after(keys):
        return _locked(request, wait, next_path, username, "totp")
    engine = _engine(request)
    sealed = store.totp_secret(engine, info.user_id)
    step = None
    if sealed is not None:
        try:
            secret = totp.unseal(request.app.state.reads.sealer, info.user_id, sealed)
        except SealError:
            secret = None  # sealed under another key: the user needs `stadspuls user totp-reset`
        if secret is not None:
            step = totp.matching_step(secret, form.get("code", ""), clock(request)())
    if sealed is None:
        # The second factor was switched off meanwhile: the password step suffices.
        store.delete_session(engine, token)
        return start_session(request, info.user_id, next_path)
    if step is None or not store.accept_totp_step(engine, info.user_id, step):
        if locked := limiter.failed(keys):
            return _locked(request, locked, next_path, username, "totp")
        return _totp_page(request, next_path, 401, WRONG_CODE)
    limiter.succeeded(username)
    return start_session(request, info.user_id, next_path)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await form_fields(request)
    identity = identify(request)
    token = request.cookies.get(SESSION_COOKIE)
    if identity is not None and identity.session is not None:
        check_csrf(identity, form.get("csrf") or request.headers.get(CSRF_HEADER))
    if token:
        store.delete_session(_engine(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure(request), httponly=True)
    return response
