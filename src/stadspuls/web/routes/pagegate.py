"""Who may see a page: anonymous readers are sent to the login page (and back afterwards), a
role without the permission gets a 403 page. The JSON API answers 401/403 instead
(`web/auth.py`)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access.roles import allows
from stadspuls.records import Actor
from stadspuls.web.auth import identify
from stadspuls.web.templating import render


def page_actor(request: Request, permission: str) -> Actor | Response:
    """The acting user when they hold `permission`; otherwise the response to send instead."""
    identity = identify(request)
    if identity is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if not allows(identity.actor, permission):
        return render(request, "live/forbidden.html", {"permission": permission}, status=403)
    return identity.actor
