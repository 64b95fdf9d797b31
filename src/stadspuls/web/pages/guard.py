"""Who may see a page. A page depends on `page(permission)`: an anonymous reader is sent to the
login page and back afterwards (303 to `/login?next=…`), a role without the permission gets a
403 page that says what is missing. The JSON API answers 401/403 instead (`web/auth.py`)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access.roles import allows
from stadspuls.records import Actor
from stadspuls.service.reads import ReadService
from stadspuls.web.auth import identify
from stadspuls.web.templating import render


class LoginRequired(Exception):
    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class PageNotFound(Exception):
    """No such monitor (raised by a page; the service's `NotFound` is the API's to answer)."""


class PageForbidden(Exception):
    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


def page(permission: str) -> Callable[[Request], Actor]:
    """A dependency: the reader, who must hold `permission`."""

    def dependency(request: Request) -> Actor:
        identity = identify(request)
        if identity is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        if not allows(identity.actor, permission):
            raise PageForbidden(permission)
        return identity.actor

    dependency.__name__ = f"page_{permission}"
    return dependency


def reads(request: Request) -> ReadService:
    service: ReadService = request.app.state.reads
    return service


def install(app: FastAPI) -> None:
    async def login(request: Request, error: Exception) -> Response:
        assert isinstance(error, LoginRequired)
        if request.headers.get("HX-Request") == "true":
            # A refresh after the session ended: the whole page goes to the login form, not
            # the login form into the refreshed fragment.
            came_from = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = came_from.path or "/"
            if came_from.query:
                back += f"?{came_from.query}"
            target = f"/login?next={quote(back, safe='')}"
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(f"/login?next={quote(error.target, safe='')}", status_code=303)

    async def forbidden(request: Request, error: Exception) -> Response:
        permission = error.permission if isinstance(error, PageForbidden) else ""
        return render(request, "pages/forbidden.html", {"permission": permission}, status=403)

    async def not_found(request: Request, error: Exception) -> Response:
        return render(request, "pages/not_found.html", {"message": str(error)}, status=404)

    app.add_exception_handler(LoginRequired, login)
    app.add_exception_handler(PageForbidden, forbidden)
    app.add_exception_handler(PageNotFound, not_found)
