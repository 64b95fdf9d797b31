"""The users admin page (admins only): add users, change roles, grant re-identification,
disable and enable, hand over a new password, reset a lost second factor. Every change goes
through `access.accounts`, which writes the audit row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access import accounts, passwords
from stadspuls.access.roles import allows
from stadspuls.records import ROLES, Actor
from stadspuls.store import users as store
from stadspuls.web.auth import Identity
from stadspuls.web.routes.pages import form_csrf_ok, form_fields, local_time, reader
from stadspuls.web.routes.session import EXPIRED_FORM
from stadspuls.web.templating import render

router = APIRouter(tags=["admin"], include_in_schema=False)

DONE = {
    "add": "The user was added. Hand over the password in person or by phone.",
    "role": "The role was changed.",
    "reidentify": "The re-identification grant was changed.",
    "active": "The account was changed.",
    "password": "The new password was set; the user's sessions were logged out.",
    "totp": "Two-step verification was switched off for this user.",
}


class MissingPassword(accounts.AccountError):
    pass


ERRORS: dict[type[accounts.AccountError], str] = {
    MissingPassword: "Give an initial password, or choose login through single sign-on only.",
    accounts.BadUsername: "A user name has letters, digits or . _ @ + - only, no spaces.",
    accounts.NameTaken: "That user name is taken already.",
    accounts.PasswordRejected: "A password needs at least %(n)s characters.",
    accounts.NoSuchUser: "That user does not exist.",
    accounts.LastAdmin: "This is the last active administrator: make someone else one first.",
}
FORBIDDEN = "Only administrators may manage users."


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _page(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    done = request.query_params.get("done")
    users = [
        {"user": user, "last_login": local_time(user.last_login_at, request)}
        for user in store.list_users(_engine(request))
    ]
    context: dict[str, Any] = {
        "users": users,
        "roles": ROLES,
        "done": DONE.get(done or ""),
        "error": error,
        "error_params": {"n": passwords.MIN_LENGTH},
        "form": form or {},
        "min_length": passwords.MIN_LENGTH,
        "oidc": request.app.state.settings.web.oidc is not None,
        "forbidden": False,
        "nav": "users",
    }
    return render(request, "admin_users.html", context, status=status)


def _admin(request: Request) -> Identity | Response:
    identity = reader(request)
    if isinstance(identity, Response):
        return identity
    if not allows(identity.actor, "admin"):
        context = {"forbidden": True, "users": [], "error": FORBIDDEN, "error_params": {}}
        return render(request, "admin_users.html", context, status=403)
    return identity


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    identity = _admin(request)
    if isinstance(identity, Response):
        return identity
    return _page(request)


async def _change(
    request: Request, change: Callable[[sa.Engine, Actor, dict[str, str]], object], done: str
) -> Response:
    identity = _admin(request)
    if isinstance(identity, Response):
        return identity
    form = await form_fields(request)
    if not form_csrf_ok(identity, form.get("csrf")):
        return _page(request, status=403, error=EXPIRED_FORM)
    try:
        change(_engine(request), identity.actor, form)
    except accounts.AccountError as error:
        message = ERRORS.get(type(error), str(error))
        return _page(request, status=400, error=message, form=form)
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


@router.post("/admin/users")
async def add_user(request: Request) -> Response:
    def add(engine: sa.Engine, actor: Actor, form: dict[str, str]) -> None:
        oidc_only = form.get("login") == "oidc"
        password = None if oidc_only else form.get("password", "")
        if password == "":
            raise MissingPassword("a new user needs a password, or login through OIDC only")
        accounts.add_user(
            engine,
            actor,
            form.get("username", "").strip(),
            form.get("role", ""),
            password=password,
            reidentify=form.get("reidentify") == "on",
            display_name=form.get("display_name", ""),
        )

    return await _change(request, add, "add")


@router.post("/admin/users/{user_id}/role")
async def change_role(request: Request, user_id: int) -> Response:
    return await _change(
        request, lambda e, a, f: accounts.set_role(e, a, user_id, f.get("role", "")), "role"
    )


@router.post("/admin/users/{user_id}/reidentify")
async def change_reidentify(request: Request, user_id: int) -> Response:
    return await _change(
        request,
        lambda e, a, f: accounts.set_reidentify(e, a, user_id, f.get("grant") == "on"),
        "reidentify",
    )


@router.post("/admin/users/{user_id}/active")
async def change_active(request: Request, user_id: int) -> Response:
    return await _change(
        request,
        lambda e, a, f: accounts.set_active(e, a, user_id, f.get("active") == "on"),
        "active",
    )


@router.post("/admin/users/{user_id}/password")
async def change_password(request: Request, user_id: int) -> Response:
    return await _change(
        request,
        lambda e, a, f: accounts.set_password(
            e, a, user_id, f.get("password", ""), keep_session=None
        ),
        "password",
    )


@router.post("/admin/users/{user_id}/totp-reset")
async def reset_totp(request: Request, user_id: int) -> Response:
    return await _change(request, lambda e, a, f: accounts.reset_totp(e, a, user_id), "totp")
