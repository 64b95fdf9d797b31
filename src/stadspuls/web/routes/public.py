"""The public intake: what citizens see, on a phone, without logging in.

- `/melden`: a question or a tip, with photos and videos, a place and a time, optional contact
  details and the consent text; `/melden/bedankt` the receipt after it.
- `/oproep/{slug}`: a call for tips with its own questions (public_calls.py).
- `/status/{token}`: the report's state and replies, behind an unguessable link
  (public_status.py).

Whatever is wrong with a report comes back next to the form with everything the citizen typed
still in it; only the files have to be chosen again (a browser cannot refill a file input).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.categories import CATEGORIES
from stadspuls.cases.records import AcceptedMedia, Call
from stadspuls.cases.service import CaseService
from stadspuls.cases.views import Receipt
from stadspuls.media.errors import MediaRejected
from stadspuls.media.intake import MediaIntake
from stadspuls.records import utcnow
from stadspuls.web.routes import public_form
from stadspuls.web.routes.public_form import FieldError, ReportForm
from stadspuls.web.routes.public_pages import (
    BodyTooLarge,
    body_cap,
    chunks,
    form_token,
    language,
    quota,
    read_form,
    settings_of,
    show,
    text_fields,
    token_ok,
    too_many,
    uploads,
    with_token,
)
from stadspuls.web.routes.session import client_address, secure

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

RECEIPT_COOKIE = "stadspuls_receipt"
THANKS = "/melden/bedankt"
REFERENCE = re.compile(r"^[A-Z]{1,4}-\d{4}-\d{1,12}$")
EXPIRED_FORM = "This form had expired. Please send it again."
NOT_FILED = "Your report could not be filed. Please check it and send it again."


class Shown(msgspec.Struct, frozen=True, kw_only=True):
    """What the thank-you page shows once, carried there in a short-lived signed cookie so
    that the status link never stands in a URL (history, logs, a Referer)."""

    reference: str
    department: str
    status_token: str | None = None
    auto_reply: str | None = None
    call_slug: str | None = None


def _cases(request: Request) -> CaseService:
    found: CaseService = request.app.state.cases
    return found


def _media(request: Request) -> MediaIntake:
    found: MediaIntake = request.app.state.media
    return found


def form_page(
    request: Request,
    form: ReportForm,
    *,
    call: Call | None = None,
    errors: list[FieldError] | None = None,
    files_lost: bool = False,
    status: int = 200,
) -> HTMLResponse:
    """The report form (the general one, or a call's), filled with `form`."""
    token = form_token(request)
    if not public_form.SUBMISSION.match(form.submission):
        form = msgspec.structs.replace(form, submission=secrets.token_urlsafe(18))
    now = utcnow()
    context: dict[str, Any] = {
        "form": form,
        "call": call,
        "errors": errors or [],
        "error_fields": {error.field for error in errors or []},
        "files_lost": files_lost,
        "form_csrf": token,
        "categories": CATEGORIES,
        "now_local": public_form.local_input(now),
        "occurred": form.occurred or public_form.local_input(now),
        "inbox": settings_of(request).inbox,
        "action": "/melden" if call is None else f"/oproep/{call.slug}",
    }
    template = "public/report.html" if call is None else "public/call.html"
    return with_token(request, show(request, template, context, status=status), token)


@router.get("/melden")
def report_form(request: Request) -> HTMLResponse:
    return form_page(request, ReportForm())


@router.post("/melden")
async def report(request: Request) -> Response:
    return await submit(request, None)


async def submit(request: Request, call: Call | None) -> Response:
    """File a report (from the general form or a call's): limits, the form, its files, the
    case. Returns the form again, with what is wrong, or a redirect to the receipt."""
    slug = None if call is None else call.slug
    verdict = await run_in_threadpool(quota(request).admit, client_address(request), slug)
    if not verdict.allowed:
        return too_many(request, verdict)
    settings = settings_of(request)
    max_files = settings.inbox.max_files
    try:
        posted = await read_form(request, body_cap(settings), max_files=max_files + 20)
    except BodyTooLarge:
        limit = {"mb": f"{settings.inbox.max_file_mb:g}", "count": max_files}
        return show(request, "public/too_large.html", limit, status=413)
    except ValueError:
        return form_page(
            request,
            ReportForm(),
            call=call,
            errors=[
                FieldError(field="text", message="The form could not be read. Please try again.")
            ],
            status=400,
        )
    try:
        return await _submit_form(request, call, posted)
    finally:
        await posted.close()


async def _submit_form(request: Request, call: Call | None, posted: FormData) -> Response:
    fields = text_fields(posted)
    form = public_form.read_form(fields, call)
    if not public_form.SUBMISSION.match(form.submission):
        # A client that sent no submission id (a script, an old page) still gets one report
        # per post; only a form's own id makes a second press the same report.
        form = msgspec.structs.replace(form, submission=secrets.token_urlsafe(18))
    photo_keys = [q.key for q in (call.questions if call else ()) if q.kind == "photo"]
    files = uploads(posted, "media", *(f"q_{key}" for key in photo_keys))
    if not token_ok(request, fields.get("csrf")):
        errors = [FieldError(field="text", message=EXPIRED_FORM)]
        return form_page(
            request, form, call=call, errors=errors, files_lost=bool(files), status=403
        )
    errors = public_form.check(form, has_files=bool(files), call=call, now=utcnow())
    if errors:
        return form_page(
            request, form, call=call, errors=errors, files_lost=bool(files), status=422
        )
    accepted, refused = await _accept(request, files)
    if refused:
        return form_page(request, form, call=call, errors=refused, files_lost=True, status=422)
    photo_answers = {
        key: ", ".join(m.filename for name, m in accepted if name == f"q_{key}")
        for key in photo_keys
    }
    inbound = public_form.message(
        form,
        received_at=utcnow(),
        media=tuple(m for _name, m in accepted),
        call=call,
        photo_answers=photo_answers,
    )
    try:
        receipt = await run_in_threadpool(_cases(request).receive, inbound)
    except ValueError as error:
        admin: CaseAdmin = request.app.state.case_admin
        if call is not None and await run_in_threadpool(admin.open_call, call.slug) is None:
            # The call closed while the citizen was typing.
            return show(request, "public/call_closed.html", {"slug": call.slug}, status=410)
        # What the form's own checks let through and the case service refuses: say so, keep
        # the text, and leave the reason in the log for whoever runs the server.
        log.warning("a web report was refused by the case service: %s", error)
        refused = [FieldError(field="text", message=NOT_FILED)]
        lost = bool(files)
        return form_page(request, form, call=call, errors=refused, files_lost=lost, status=422)
    return _to_thanks(request, receipt, call)


def slug_of(call: Call | None) -> str | None:
    return None if call is None else call.slug


async def _accept(
    request: Request, files: list[tuple[str, UploadFile]]
) -> tuple[list[tuple[str, AcceptedMedia]], list[FieldError]]:
    """Each file through the media intake; every refusal named with its file."""
    media = _media(request)
    slots: asyncio.Semaphore = request.app.state.intake_slots
    lang = language(request)
    try:
        media.check_count(len(files))
    except MediaRejected as rejected:
        return [], [_refusal(rejected, "", lang)]

    async def one(upload: UploadFile) -> AcceptedMedia | FieldError:
        filename = (upload.filename or "")[:300]
        try:
            async with slots:
                return await media.accept(
                    chunks(upload), filename=filename, declared_type=upload.content_type
                )
        except MediaRejected as rejected:
            return _refusal(rejected, filename, lang)

    # Side by side: the decoder pool has several workers, and a citizen's three photos should
    # take the time of one.
    results = await asyncio.gather(*(one(upload) for _name, upload in files))
    accepted = [
        (name, found)
        for (name, _upload), found in zip(files, results, strict=True)
        if isinstance(found, AcceptedMedia)
    ]
    refused = [found for found in results if isinstance(found, FieldError)]
    return accepted, refused


def _refusal(rejected: MediaRejected, filename: str, lang: str) -> FieldError:
    shown = filename or rejected.filename
    return FieldError(
        field="media",
        message="%(file)s: %(reason)s" if shown else "%(reason)s",
        params={"file": shown, "reason": rejected.message(lang)},
    )


def _receipt_key(request: Request) -> bytes:
    key: bytes = request.app.state.quota_key
    return hmac.new(key, b"receipt cookie", hashlib.sha256).digest()


def _to_thanks(request: Request, receipt: Receipt, call: Call | None) -> RedirectResponse:
    shown = Shown(
        reference=receipt.reference,
        department=receipt.department,
        status_token=receipt.status_token,
        auto_reply=receipt.auto_reply,
        call_slug=slug_of(call),
    )
    payload = base64.urlsafe_b64encode(msgspec.json.encode(shown)).decode()
    signature = hmac.new(_receipt_key(request), payload.encode(), hashlib.sha256).hexdigest()
    response = RedirectResponse(f"{THANKS}?ref={receipt.reference}", status_code=303)
    response.set_cookie(
        RECEIPT_COOKIE,
        f"{payload}.{signature}",
        max_age=600,
        path=THANKS,
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )
    return response


def _shown(request: Request) -> Shown | None:
    payload, _, signature = request.cookies.get(RECEIPT_COOKIE, "").partition(".")
    expected = hmac.new(_receipt_key(request), payload.encode(), hashlib.sha256).hexdigest()
    if not payload or not hmac.compare_digest(signature, expected):
        return None
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(payload), type=Shown)
    except (ValueError, msgspec.DecodeError):
        return None


@router.get(THANKS)
def thanks(request: Request, ref: str = "") -> HTMLResponse:
    """The receipt: the reference, and once (the cookie is then deleted) the status link."""
    shown = _shown(request)
    if shown is not None and ref and shown.reference != ref:
        shown = None
    reference = shown.reference if shown else (ref if REFERENCE.match(ref) else "")
    settings = settings_of(request)
    base = settings.inbox.public_url or str(request.base_url)
    status_url = None
    if shown is not None and shown.status_token:
        status_url = f"{base.rstrip('/')}/status/{shown.status_token}"
    context = {"shown": shown, "reference": reference, "status_url": status_url}
    response = show(request, "public/thanks.html", context, private=True)
    response.delete_cookie(RECEIPT_COOKIE, path=THANKS)
    return response
