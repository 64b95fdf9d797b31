"""The account page: one's own password, second factor and personal API tokens.

Every form posts its hidden `csrf` field. A new token and a new TOTP secret are shown in the
answer to the POST that made them, never in a URL; other changes redirect (303) back to the
page with a `done` marker, so reloading the page repeats nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access import accounts, passwords, totp
from stadspuls.records import User
from stadspuls.sealed import Sealer, SealError
from stadspuls.store import users as store
from stadspuls.store.rows import from_us
from stadspuls.web.auth import SESSION_COOKIE, Identity
from stadspuls.web.routes.pages import form_csrf_ok, form_fields, local_time, reader
from stadspuls.web.routes.session import EXPIRED_FORM, clock
from stadspuls.web.templating import render

router = APIRouter(tags=["account"], include_in_schema=False)

DONE = {
    "password": "Your password was changed. Your other sessions were logged out.",
    "totp-on": "Two-step verification is on. You will be asked for a code when you log in.",
    "totp-off": "Two-step verification is off.",
    "token-revoked": "The token was revoked; it no longer works.",
}
WRONG_CURRENT = "Your current password is not right."
MISMATCH = "The two new passwords are not the same."
TOO_SHORT = "A password needs at least %(n)s characters."
WRONG_SETUP_CODE = "That code is not right. Check the time on your phone and try the next code."
UNNAMED = "Give the token a name, so that you know later what it is for."
GONE = "That token does not exist (any more)."


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.reads.sealer
    return sealer


def _setup_context(user_id: int) -> str:
    # A secret being set up is sealed apart from an active one: it cannot pass for it.
    return f"totp-setup:{user_id}"


def _when(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _page(
    request: Request,
    identity: Identity,
    *,
    status: int = 200,
    error: str | None = None,
    error_params: dict[str, Any] | None = None,
    error_field: str | None = None,
    **extra: Any,
) -> Response:
    engine = _engine(request)
    user_id = identity.actor.user_id
    user: User | None = None if user_id is None else store.get_user(engine, user_id)
    tokens = [] if user_id is None else store.list_tokens(engine, user_id)
    has_password = False
    if user is not None:
        found = store.credentials(engine, user.username)
        has_password = found is not None and found[1] is not None
    done = request.query_params.get("done")
    context: dict[str, Any] = {
        "user": user,
        "has_password": has_password,
        "tokens": [
            {
                "id": t.id,
                "name": t.name,
                "created": _when(t.created_us),
                "created_text": local_time(_when(t.created_us), request),
                "last_used": _when(t.last_used_us),
                "last_used_text": local_time(_when(t.last_used_us), request),
            }
            for t in tokens
        ],
        "done": DONE.get(done or ""),
        "error": error,
        "error_params": error_params or {},
        "error_field": error_field,
        "min_length": passwords.MIN_LENGTH,
        "setup": None,
        "new_token": None,
        "nav": "account",
    }
    context.update(extra)
    return render(request, "account.html", context, status=status)


def _user_id(identity: Identity) -> int:
    user_id = identity.actor.user_id
    assert user_id is not None  # sessions and tokens always belong to a stored user
    return user_id


@router.get("/account")
def account(request: Request) -> Response:
    identity = reader(request)
    if isinstance(identity, Response):
        return identity
    return _page(request, identity)


async def _posted(request: Request) -> tuple[Identity, dict[str, str]] | Response:
    """The reader and the posted form; a page saying what went wrong otherwise."""
    identity = reader(request)
    if isinstance(identity, Response):
        return identity
    form = await form_fields(request)
    if not form_csrf_ok(identity, form.get("csrf")):
        return _page(request, identity, status=403, error=EXPIRED_FORM)
    return identity, form


def _current_password_ok(engine: sa.Engine, identity: Identity, form: dict[str, str]) -> bool:
    """Whether the form's `current` field is the user's password (asked before a change)."""
    found = store.credentials(engine, identity.actor.username)
    return found is not None and passwords.verify(found[1], form.get("current", "")).ok


def _back(done: str) -> RedirectResponse:
    return RedirectResponse(f"/account?done={done}", status_code=303)


@router.post("/account/password")
async def change_password(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    identity, form = posted
    engine = _engine(request)
    if not _current_password_ok(engine, identity, form):
        return _page(request, identity, status=400, error=WRONG_CURRENT, error_field="current")
    new = form.get("new", "")
    if new != form.get("repeat", ""):
        return _page(request, identity, status=400, error=MISMATCH, error_field="repeat")
    try:
        passwords.check_new(new)
    except passwords.WeakPassword:
        return _page(
            request,
            identity,
            status=400,
            error=TOO_SHORT,
            error_params={"n": passwords.MIN_LENGTH},
            error_field="new",
        )
    accounts.set_password(
        engine,
        identity.actor,
        _user_id(identity),
        new,
        keep_session=request.cookies.get(SESSION_COOKIE),
    )
    return _back("password")


def _setup(request: Request, identity: Identity, secret: str) -> dict[str, Any]:
    uri = totp.provisioning_uri(secret, identity.actor.username)
    return {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": uri,
        "qr": totp.qr_svg(uri),
        "sealed": _sealer(request).seal(secret, _setup_context(_user_id(identity))),
    }


@router.post("/account/totp/setup")
async def totp_setup(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    identity, _form = posted
    return _page(request, identity, setup=_setup(request, identity, totp.new_secret()))


@router.post("/account/totp/confirm")
async def totp_confirm(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    identity, form = posted
    user_id = _user_id(identity)
    sealer = _sealer(request)
    try:
        secret = sealer.open(form.get("sealed", ""), _setup_context(user_id))
    except SealError:
        return _page(request, identity, status=400, error=EXPIRED_FORM)
    step = totp.matching_step(secret, form.get("code", ""), clock(request)())
    if step is None:
        return _page(
            request,
            identity,
            status=400,
            error=WRONG_SETUP_CODE,
            error_field="code",
            setup=_setup(request, identity, secret),
        )
    engine = _engine(request)
    accounts.enable_totp(engine, identity.actor, user_id, totp.seal(sealer, user_id, secret))
    # The code that confirmed the set-up is spent: it cannot log anyone in afterwards.
    store.accept_totp_step(engine, user_id, step)
    return _back("totp-on")


@router.post("/account/totp/remove")
async def totp_remove(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    identity, form = posted
    engine = _engine(request)
    if not _current_password_ok(engine, identity, form):
        return _page(request, identity, status=400, error=WRONG_CURRENT, error_field="totp-current")
    accounts.reset_totp(engine, identity.actor, _user_id(identity))
    return _back("totp-off")


@router.post("/account/tokens")
async def token_add(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    identity, form = posted
    name = form.get("name", "").strip()
    if not name or len(name) > 200:
        return _page(request, identity, status=400, error=UNNAMED, error_field="token-name")
    token = accounts.add_token(_engine(request), identity.actor, _user_id(identity), name)
    return _page(request, identity, new_token={"name": name, "secret": token})


@router.post("/account/tokens/{token_id}/revoke")
async def token_revoke(request: Request, token_id: int) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    identity, _form = posted
    try:
        accounts.revoke_token(_engine(request), identity.actor, _user_id(identity), token_id)
    except accounts.AccountError:
        return _page(request, identity, status=404, error=GONE)
    return _back("token-revoked")
