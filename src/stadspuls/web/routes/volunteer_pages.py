"""The public volunteer pages, without logging in, phone first, Dutch first:

- `/vrijwilligers`: what this is, the consent text and the registration form; the "check your
  e-mail" page after it;
- `/vrijwilligers/bevestig/{token}`: the link from the confirmation e-mail;
- `/vrijwilligers/link`: mail me the link to my own page (the same answer for any address).

The volunteer's own page is volunteer_self.py, the answer page volunteer_answer.py. Forms that
send an e-mail count against the public pages' per-address limit (the intake quota), so that
the form cannot be used to mail-bomb an address.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.errors import AlreadyRegistered, BadLink, VolunteerError
from stadspuls.volunteers.records import CHANNELS, SKILLS
from stadspuls.volunteers.registry import VolunteerService
from stadspuls.web.routes import volunteer_form
from stadspuls.web.routes.public_form import EMAIL, FieldError
from stadspuls.web.routes.public_pages import (
    form_token,
    language,
    quota,
    settings_of,
    show,
    token_ok,
    too_many,
    with_token,
)
from stadspuls.web.routes.session import client_address
from stadspuls.web.routes.volunteer_form import VolunteerForm

router = APIRouter(include_in_schema=False)

HOME = "/vrijwilligers"
CHECK_MAIL = "/vrijwilligers/controleer-mail"
EXPIRED_FORM = "This form had expired. Please send it again."


def volunteers(request: Request) -> VolunteerService:
    found: VolunteerService = request.app.state.volunteers
    return found


def callouts(request: Request) -> CallOutService:
    found: CallOutService = request.app.state.callouts
    return found


def base_url(request: Request) -> str:
    """Where links in e-mails point: the configured public address, else this request's."""
    public = settings_of(request).inbox.public_url
    return (public or str(request.base_url)).rstrip("/")


def choices() -> dict[str, Any]:
    """The form's fixed choices (codes with their English labels, translated in the page)."""
    return {
        "skills": [(code, volunteer_form.SKILL_LABELS[code]) for code in SKILLS],
        "channels": [(code, volunteer_form.CHANNEL_LABELS[code]) for code in CHANNELS],
        "weekdays": list(enumerate(volunteer_form.WEEKDAY_LABELS)),
    }


def register_page(
    request: Request,
    form: VolunteerForm,
    *,
    errors: list[FieldError] | None = None,
    registered: bool = False,
    status: int = 200,
) -> HTMLResponse:
    token = form_token(request)
    limits = settings_of(request).volunteers
    context: dict[str, Any] = {
        **choices(),
        "form": form,
        "errors": errors or [],
        "error_fields": {error.field for error in errors or []},
        "form_csrf": token,
        "registered": registered,
        "limits": {"min": limits.min_radius_km, "max": limits.max_radius_km},
    }
    response = show(request, "volunteers/register.html", context, status=status)
    return with_token(request, response, token)


@router.get(HOME, response_class=HTMLResponse)
def register_form(request: Request) -> HTMLResponse:
    return register_page(request, VolunteerForm())


@router.post(HOME)
async def register(request: Request) -> Response:
    posted = await request.form(max_files=0, max_fields=100)
    fields = {k: v for k, v in posted.multi_items() if isinstance(v, str)}
    lists = {
        name: [v for v in posted.getlist(name) if isinstance(v, str)]
        for name in ("skills", "channels")
    }
    form = volunteer_form.read_form(fields, lists)
    if not token_ok(request, fields.get("csrf")):
        errors = [FieldError(field="name", message=EXPIRED_FORM)]
        return register_page(request, form, errors=errors, status=403)
    errors = volunteer_form.check(form)
    if errors:
        return register_page(request, form, errors=errors, status=422)
    verdict = await run_in_threadpool(quota(request).admit, client_address(request), None)
    if not verdict.allowed:
        return too_many(request, verdict)
    registration = volunteer_form.registration(form, lang=language(request))
    service = volunteers(request)
    try:
        await run_in_threadpool(service.register, registration, base_url=base_url(request))
    except AlreadyRegistered:
        return register_page(request, form, registered=True, status=409)
    except VolunteerError as error:
        shown = [volunteer_form.service_error(error)]
        return register_page(request, form, errors=shown, status=422)
    return RedirectResponse(CHECK_MAIL, status_code=303)


@router.get(CHECK_MAIL, response_class=HTMLResponse)
def check_mail(request: Request) -> HTMLResponse:
    return show(request, "volunteers/check_mail.html", {"what": "confirm"})


@router.get("/vrijwilligers/bevestig/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """The link from the confirmation e-mail shows a button and changes nothing: mail scanners
    (and "safe links" services) open every link in a mail, and someone who registered another
    person's address must not have it confirmed by that person's scanner."""
    context = {"token": token[:512]}
    return show(request, "volunteers/confirm.html", context, private=True)


@router.post("/vrijwilligers/bevestig/{token}")
def confirm(request: Request, token: str) -> Response:
    """Make the registration active (the token is the proof) and go to the own page."""
    service = volunteers(request)
    try:
        volunteer = service.confirm(token[:512])
    except BadLink as error:
        return show(
            request,
            "volunteers/bad_link.html",
            {"expired": error.expired, "what": "confirm"},
            status=410 if error.expired else 400,
            private=True,
        )
    assert volunteer.id is not None
    manage = service.manage_token(volunteer.id)
    return RedirectResponse(f"/vrijwilligers/ik/{manage}?welkom=1", status_code=303)


@router.get("/vrijwilligers/link", response_class=HTMLResponse)
def link_form(request: Request, email: str = "") -> HTMLResponse:
    token = form_token(request)
    context = {"form_csrf": token, "email": email[:254], "errors": [], "error_fields": set()}
    return with_token(request, show(request, "volunteers/link.html", context), token)


@router.post("/vrijwilligers/link")
async def mail_link(request: Request) -> Response:
    posted = await request.form(max_files=0, max_fields=10)
    email = str(posted.get("email") or "").strip()[:254]
    if not token_ok(request, str(posted.get("csrf") or "")):
        token = form_token(request)
        errors = [FieldError(field="email", message=EXPIRED_FORM)]
        context = {"form_csrf": token, "email": email, "errors": errors, "error_fields": {"email"}}
        return with_token(
            request, show(request, "volunteers/link.html", context, status=403), token
        )
    if not EMAIL.match(email):
        token = form_token(request)
        errors = [
            FieldError(field="email", message="This is not an e-mail address (name@example.nl).")
        ]
        context = {"form_csrf": token, "email": email, "errors": errors, "error_fields": {"email"}}
        return with_token(
            request, show(request, "volunteers/link.html", context, status=422), token
        )
    verdict = await run_in_threadpool(quota(request).admit, client_address(request), None)
    if not verdict.allowed:
        return too_many(request, verdict)
    await run_in_threadpool(volunteers(request).mail_manage_link, email, base_url=base_url(request))
    return show(request, "volunteers/check_mail.html", {"what": "link"})
