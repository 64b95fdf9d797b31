"""Who is asking: a session cookie (browser) or a personal API token (Authorization: Bearer).

Every route under /api (except /health) depends on `require(permission)`: anonymous requests get
401, a role without the permission 403. A browser session that changes something (POST, PUT,
PATCH, DELETE) must also send its CSRF token in the `X-CSRF-Token` header; HTML forms that post
without JavaScript pass theirs to `check_csrf`. Bearer tokens are not sent by browsers on their
own, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import HTTPException, Request

from stadspuls.access.roles import allows
from stadspuls.records import PERMISSIONS, Actor
from stadspuls.store import users as store

SESSION_COOKIE = "stadspuls_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class Identity:
    """What authenticated a request: the actor and, for a session, its CSRF token."""

    __slots__ = ("actor", "csrf", "session")

    def __init__(self, actor: Actor, csrf: str | None, session: str | None) -> None:
        self.actor, self.csrf, self.session = actor, csrf, session


def identify(request: Request) -> Identity | None:
    """The identity of the request (cached on it), or None when anonymous."""
    if hasattr(request.state, "identity"):
        cached: Identity | None = request.state.identity
        return cached
    engine: sa.Engine = request.app.state.engine
    found: Identity | None = None
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        actor = store.actor_for_token(engine, credentials.strip())
        found = None if actor is None else Identity(actor, None, None)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        info = store.session_for(engine, cookie)
        if info is not None and not info.pending_totp:
            found = Identity(info.actor, info.csrf, cookie)
    request.state.identity = found
    return found


def check_csrf(identity: Identity, given: str | None) -> None:
    """403 unless a session's request carries its CSRF token (tokens need none)."""
    if identity.csrf is None:
        return
    if not given or not hmac.compare_digest(given, identity.csrf):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page")


def authenticated(request: Request) -> Actor:
    """The acting user; 401 when anonymous, 403 for a session's change without CSRF token."""
    identity = identify(request)
    if identity is None:
        raise HTTPException(
            401,
            "log in (session cookie) or send a personal API token (Authorization: Bearer …)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if request.method not in _SAFE:
        check_csrf(identity, request.headers.get(CSRF_HEADER))
    return identity.actor


def require(permission: str) -> Callable[[Request], Actor]:
    """A dependency: the acting user, who must hold `permission` (403 otherwise)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(request: Request) -> Actor:
        actor = authenticated(request)
        if not allows(actor, permission):
            raise HTTPException(403, f"your role ({actor.role}) may not: {PERMISSIONS[permission]}")
        return actor

    dependency.__name__ = f"require_{permission}"
    return dependency
