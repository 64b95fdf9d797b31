"""A volunteer's own page, behind the signed link from their e-mail (`/vrijwilligers/ik/{token}`):
their data and the form that changes it, pause and resume, leave (which deletes everything,
after a confirmation), their own call-out history, and "notifications on this device" (the
page's script subscribes with the browser's push service and posts the subscription here).

The link is the key: whoever holds it is the volunteer. Posts also carry the public pages'
CSRF token, so that another site cannot pause or delete someone who happens to have the page
open; the page is never cached and sends no Referer onwards.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from stadspuls.settings import Settings
from stadspuls.volunteers.errors import BadLink, VolunteerError
from stadspuls.volunteers.records import PushSubscription, Volunteer
from stadspuls.web.routes import volunteer_form
from stadspuls.web.routes.public_form import FieldError
from stadspuls.web.routes.public_pages import form_token, show, token_ok, with_token
from stadspuls.web.routes.volunteer_answer import distance_band
from stadspuls.web.routes.volunteer_form import VolunteerForm
from stadspuls.web.routes.volunteer_pages import choices, volunteers

router = APIRouter(include_in_schema=False)

PREFIX = "/vrijwilligers/ik"
EXPIRED_FORM = "This form had expired. Please send it again."
MAX_SUBSCRIPTION = 4096


class _Keys(msgspec.Struct, frozen=True):
    p256dh: str
    auth: str


class _Subscription(msgspec.Struct, frozen=True):
    """What the page posts: the browser's PushSubscription.toJSON()."""

    endpoint: str
    keys: _Keys


def push_endpoint_ok(endpoint: str, *, allow_loopback: bool = False) -> bool:
    """Whether the notifier may post to this endpoint. Browsers' push services are public HTTPS
    hosts; the notifier must not become a way to reach the server's own network, so an address
    in a private, link-local or loopback range is refused. `allow_loopback`
    (`volunteers.push_allow_loopback`) admits a push service run beside Stadspuls, as in the
    tests, plain HTTP too."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
    except ValueError:
        return False
    if len(endpoint) > 1024 or not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost":
            return allow_loopback and parts.scheme in ("http", "https")
        return parts.scheme == "https" and "." in host
    if address.is_loopback:
        return allow_loopback and parts.scheme in ("http", "https")
    return parts.scheme == "https" and address.is_global


def vapid_public_key(request: Request) -> str:
    """The application server key the browser subscribes with (base64url, uncompressed P-256)."""
    return str(getattr(request.app.state, "vapid_public_key", ""))


def _volunteer_id(request: Request, token: str) -> int | None:
    try:
        return volunteers(request).open_manage_token(token[:512])
    except BadLink:
        return None


def _bad_link(request: Request) -> HTMLResponse:
    context = {"expired": False, "what": "manage"}
    return show(request, "volunteers/bad_link.html", context, status=400, private=True)


def own_page(
    request: Request,
    token: str,
    volunteer: Volunteer,
    *,
    form: VolunteerForm | None = None,
    errors: list[FieldError] | None = None,
    status: int = 200,
) -> HTMLResponse:
    assert volunteer.id is not None
    service = volunteers(request)
    csrf = form_token(request)
    context: dict[str, Any] = {
        **choices(),
        "token": token,
        "volunteer": volunteer,
        "form": form or volunteer_form.from_volunteer(volunteer),
        "errors": errors or [],
        "error_fields": {error.field for error in errors or []},
        "form_csrf": csrf,
        "history": service.history(volunteer.id),
        "band": distance_band,
        "vapid_key": vapid_public_key(request),
        "welcome": request.query_params.get("welkom") == "1",
        "saved": request.query_params.get("bewaard") == "1",
        "limits": {
            "min": request.app.state.settings.volunteers.min_radius_km,
            "max": request.app.state.settings.volunteers.max_radius_km,
        },
    }
    response = show(request, "volunteers/self.html", context, status=status, private=True)
    return with_token(request, response, csrf)


@router.get(PREFIX + "/{token}", response_class=HTMLResponse)
def own(request: Request, token: str) -> HTMLResponse:
    volunteer_id = _volunteer_id(request, token)
    if volunteer_id is None:
        return _bad_link(request)
    return own_page(request, token, volunteers(request).get(volunteer_id, private=True))


@router.post(PREFIX + "/{token}")
async def change(request: Request, token: str) -> Response:
    volunteer_id = _volunteer_id(request, token)
    if volunteer_id is None:
        return _bad_link(request)
    posted = await request.form(max_files=0, max_fields=100)
    fields = {k: v for k, v in posted.multi_items() if isinstance(v, str)}
    lists = {
        name: [v for v in posted.getlist(name) if isinstance(v, str)]
        for name in ("skills", "channels")
    }
    form = volunteer_form.read_form(fields, lists)
    service = volunteers(request)
    current = await run_in_threadpool(service.get, volunteer_id, private=True)
    if not token_ok(request, fields.get("csrf")):
        errors = [FieldError(field="name", message=EXPIRED_FORM)]
        return own_page(request, token, current, form=form, errors=errors, status=403)
    errors = volunteer_form.check(form, registering=False)
    if errors:
        return own_page(request, token, current, form=form, errors=errors, status=422)
    try:
        location = await run_in_threadpool(
            lambda: service.locate(**volunteer_form.where_kwargs(form))  # type: ignore[arg-type]
        )
        await run_in_threadpool(
            lambda: service.update(
                volunteer_id,
                name=form.name,
                location=location,
                radius_km=volunteer_form.radius(form),
                skills=form.skills,
                availability=volunteer_form.availability(form),
                channels=form.channels,
            )
        )
    except VolunteerError as error:
        shown = [volunteer_form.service_error(error)]
        return own_page(request, token, current, form=form, errors=shown, status=422)
    return RedirectResponse(f"{PREFIX}/{token}?bewaard=1", status_code=303)


async def _posted_ok(request: Request) -> bool:
    posted = await request.form(max_files=0, max_fields=10)
    return token_ok(request, str(posted.get("csrf") or ""))


@router.post(PREFIX + "/{token}/pauze")
async def pause(request: Request, token: str) -> Response:
    return await _switch(request, token, pause=True)


@router.post(PREFIX + "/{token}/hervat")
async def resume(request: Request, token: str) -> Response:
    return await _switch(request, token, pause=False)


async def _switch(request: Request, token: str, *, pause: bool) -> Response:
    volunteer_id = _volunteer_id(request, token)
    if volunteer_id is None:
        return _bad_link(request)
    service = volunteers(request)
    if not await _posted_ok(request):
        current = await run_in_threadpool(service.get, volunteer_id, private=True)
        errors = [FieldError(field="state", message=EXPIRED_FORM)]
        return own_page(request, token, current, errors=errors, status=403)
    await run_in_threadpool(service.pause if pause else service.resume, volunteer_id)
    return RedirectResponse(f"{PREFIX}/{token}#state", status_code=303)


@router.get(PREFIX + "/{token}/verlaten", response_class=HTMLResponse)
def leave_form(request: Request, token: str) -> HTMLResponse:
    if _volunteer_id(request, token) is None:
        return _bad_link(request)
    csrf = form_token(request)
    context = {"token": token, "form_csrf": csrf}
    response = show(request, "volunteers/leave.html", context, private=True)
    return with_token(request, response, csrf)


@router.post(PREFIX + "/{token}/verlaten", response_class=HTMLResponse)
async def leave(request: Request, token: str) -> HTMLResponse:
    volunteer_id = _volunteer_id(request, token)
    if volunteer_id is None:
        return _bad_link(request)
    if not await _posted_ok(request):
        csrf = form_token(request)
        context = {"token": token, "form_csrf": csrf, "expired": True}
        response = show(request, "volunteers/leave.html", context, status=403, private=True)
        return with_token(request, response, csrf)
    await run_in_threadpool(volunteers(request).leave, volunteer_id)
    return show(request, "volunteers/left.html", private=True)


@router.post(PREFIX + "/{token}/push")
async def add_push(request: Request, token: str) -> Response:
    """The page's script posts the browser's subscription (JSON) with the CSRF token in a
    header; 204 when it is stored."""
    volunteer_id = _volunteer_id(request, token)
    if volunteer_id is None:
        return Response(status_code=400)
    if not token_ok(request, request.headers.get("X-CSRF-Token")):
        return Response(status_code=403)
    body = await request.body()
    if len(body) > MAX_SUBSCRIPTION:
        return Response(status_code=413)
    try:
        sent = msgspec.json.decode(body, type=_Subscription)
    except msgspec.DecodeError:
        return Response(status_code=422)
    settings: Settings = request.app.state.settings
    if not push_endpoint_ok(sent.endpoint, allow_loopback=settings.volunteers.push_allow_loopback):
        return Response(status_code=422)
    subscription = PushSubscription(
        endpoint=sent.endpoint, p256dh=sent.keys.p256dh, auth=sent.keys.auth
    )
    try:
        await run_in_threadpool(volunteers(request).add_push, volunteer_id, subscription)
    except VolunteerError:
        return Response(status_code=422)
    return Response(status_code=204)
