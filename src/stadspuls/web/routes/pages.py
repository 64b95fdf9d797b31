"""What the account and users pages share: who is reading, and their forms' CSRF check."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse

from stadspuls.web.auth import Identity, check_csrf, identify
from stadspuls.web.templating import language


def login_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous reader of a page to the login page, and back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


def reader(request: Request) -> Identity | RedirectResponse:
    """The logged-in reader of a page, or the redirect to the login page."""
    identity = identify(request)
    return login_redirect(request) if identity is None else identity


def form_csrf_ok(identity: Identity, given: str | None) -> bool:
    """Whether a form's hidden `csrf` field matches the session's (tokens need none); the
    caller answers a page that says so instead of a bare 403."""
    try:
        check_csrf(identity, given)
    except HTTPException:
        return False
    return True


async def form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


# The operators are in the Netherlands; the store keeps UTC.
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


def local_time(moment: datetime | None, request: Request) -> str:
    """A stored time as the reader reads it: Dutch or English, in Dutch local time."""
    if moment is None:
        return ""
    # British English: day before month and a 24-hour clock, as the Dutch read them.
    locale = {"en": "en_GB"}.get(language(request), language(request))
    return format_datetime(moment, "short", tzinfo=LOCAL_ZONE, locale=locale)
