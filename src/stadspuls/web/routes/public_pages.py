"""What the public pages (`/melden`, `/oproep/…`, `/status/…`) share: the reader's language
(the site's switch, else the browser's Accept-Language, else Dutch), rendering with the headers
a page for citizens needs, the double-submit CSRF cookie, the abuse limits, and reading a
multipart body under a size cap.

Citizens are not logged in, so a forged cross-site post cannot act as anyone; the CSRF cookie is
there so that another site cannot file reports, or add messages to a case, in a visitor's name.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from stadspuls.cases.quota import IntakeQuota, Verdict
from stadspuls.settings import Settings
from stadspuls.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue
from stadspuls.web.routes.session import secure
from stadspuls.web.templating import LANG_COOKIE, render

CSRF_COOKIE = "stadspuls_public_csrf"
# Room for the form's own fields and the multipart framing beside the files.
FORM_ROOM_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    """The request body passed the cap (checked while it arrives, not after)."""


def language(request: Request) -> str:
    """`?lang=` or the language switch's cookie, else the browser's first language we have
    (Accept-Language, by quality), else Dutch."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def settings_of(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def show(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    private: bool = False,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a public page in the reader's language. No page is cached (each carries a fresh
    form token, some a reference), none sends a Referer onwards; `private` pages (a status page,
    whose link is its key) also ask search engines not to index them."""
    lang = language(request)
    words = catalogue(lang)
    values: dict[str, Any] = {
        "lang": lang,
        "_": words.gettext,
        "gettext": words.gettext,
        "ngettext": words.ngettext,
        "private": private,
        "settings": settings_of(request),
        "emergency": _emergency(request, lang),
    }
    values.update(context or {})
    response = render(request, template, values, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if private:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _emergency(request: Request, lang: str) -> str:
    inbox = settings_of(request).inbox
    return inbox.emergency_text_nl if lang == "nl" else inbox.emergency_text_en


def form_token(request: Request) -> str:
    """The CSRF token of this visitor's forms: the cookie's, or a new one (set by `with_token`)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def with_token(request: Request, response: HTMLResponse, token: str) -> HTMLResponse:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=12 * 3600,
        path="/",
        httponly=True,
        # Lax, not strict: a citizen who follows a status link from an e-mail gets the cookie
        # set on that first page and can answer on it.
        samesite="lax",
        secure=secure(request),
    )
    return response


def token_ok(request: Request, given: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and bool(given) and hmac.compare_digest(cookie, given or "")


def quota(request: Request) -> IntakeQuota:
    found: IntakeQuota = request.app.state.quota
    return found


def too_many(request: Request, verdict: Verdict) -> HTMLResponse:
    minutes = max(1, math.ceil(verdict.retry_after_s / 60))
    return show(
        request,
        "public/too_many.html",
        {"minutes": minutes, "limit": verdict.limit},
        status=429,
        headers={"Retry-After": str(verdict.retry_after_s)},
    )


def body_cap(settings: Settings) -> int:
    """The most a report may weigh: every file at its cap, and the form around them."""
    inbox = settings.inbox
    return int(inbox.max_files * inbox.max_file_mb * 1024 * 1024) + FORM_ROOM_BYTES


async def read_form(request: Request, cap: int, max_files: int) -> FormData:
    """The multipart (or urlencoded) form, refusing a body past `cap` as it arrives: a
    declared Content-Length at once, a chunked body at the byte that passes it. Raises
    BodyTooLarge, or ValueError for a body that is not a form."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge
    received = 0
    upstream = request.receive

    async def counted() -> Message:
        nonlocal received
        message = await upstream()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise BodyTooLarge
        return message

    capped = Request(request.scope, counted)
    try:
        # Files beyond the allowed number still parse (up to a bound), so that the citizen is
        # told how many to leave out instead of getting a bare 400.
        return await capped.form(max_files=max_files, max_fields=200, max_part_size=256 * 1024)
    except StarletteHTTPException as error:
        raise ValueError(str(error.detail)) from error


async def chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(CHUNK_BYTES):
        yield data


def uploads(form: FormData, *names: str) -> list[tuple[str, UploadFile]]:
    """The files sent under `names` (field name, file), leaving out the empty part a browser
    sends for a file input where nothing was chosen."""
    found = []
    for name in names:
        for value in form.getlist(name):
            if isinstance(value, UploadFile) and (value.filename or (value.size or 0) > 0):
                found.append((name, value))
    return found


def text_fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}
