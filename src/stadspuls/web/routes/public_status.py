"""The status page of a web report (`/status/{token}`): its reference, its state in plain words,
the replies, and a box to answer. The link is the only key, so an unknown token gets a bare 404,
the page is never cached, never indexed and sends no Referer to any link on it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from stadspuls.cases.service import CaseService, CaseStateError
from stadspuls.cases.views import PublicStatus
from stadspuls.web.routes.public_form import MAX_TEXT, clean
from stadspuls.web.routes.public_pages import (
    BodyTooLarge,
    form_token,
    quota,
    read_form,
    show,
    text_fields,
    token_ok,
    too_many,
    with_token,
)
from stadspuls.web.routes.session import client_address

router = APIRouter(include_in_schema=False)

# A reply is text only: a small body is all a status page's form may send.
REPLY_CAP_BYTES = 64 * 1024


def _cases(request: Request) -> CaseService:
    found: CaseService = request.app.state.cases
    return found


def _not_found(request: Request) -> HTMLResponse:
    return show(request, "public/status_unknown.html", status=404, private=True)


def _page(
    request: Request,
    token: str,
    status: PublicStatus,
    *,
    text: str = "",
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    csrf = form_token(request)
    context = {
        "status": status,
        "token": token,
        "text": text,
        "error": error,
        "form_csrf": csrf,
        "sent": request.query_params.get("sent") == "1",
        "max_text": MAX_TEXT,
    }
    response = show(request, "public/status.html", context, status=code, private=True)
    return with_token(request, response, csrf)


@router.get("/status/{token}")
async def status_page(request: Request, token: str) -> HTMLResponse:
    found = await run_in_threadpool(_cases(request).status, token[:200])
    if found is None:
        return _not_found(request)
    return _page(request, token, found)


@router.post("/status/{token}")
async def status_reply(request: Request, token: str) -> Response:
    cases = _cases(request)
    found = await run_in_threadpool(cases.status, token[:200])
    if found is None:
        return _not_found(request)
    verdict = await run_in_threadpool(quota(request).admit, client_address(request), None)
    if not verdict.allowed:
        return too_many(request, verdict)
    try:
        fields = text_fields(await read_form(request, REPLY_CAP_BYTES, max_files=0))
    except (BodyTooLarge, ValueError):
        return _page(request, token, found, error="The message could not be read.", code=400)
    text = clean(fields.get("text", ""), MAX_TEXT)
    if not token_ok(request, fields.get("csrf")):
        return _page(
            request,
            token,
            found,
            text=text,
            error="This form had expired. Please send it again.",
            code=403,
        )
    if not text:
        return _page(request, token, found, error="Write a message first.", code=422)
    if len(text) > MAX_TEXT:
        return _page(
            request, token, found, text=text, error="Keep this under 5000 characters.", code=422
        )
    try:
        await run_in_threadpool(cases.citizen_reply, token, text)
    except CaseStateError:
        return _page(
            request,
            token,
            found,
            text=text,
            error="This case is closed. Send a new report instead.",
            code=409,
        )
    return RedirectResponse(f"/status/{token}?sent=1#messages", status_code=303)
