"""Answering a call-out without logging in, and the service worker that shows call-outs.

- `/vrijwilligers/antwoord/{token}`: the signed link from the e-mail or the notification. A GET
  only shows the call-out and the buttons, and changes nothing: mail scanners and link previews
  follow links. The answer is a POST (the button, or the service worker's action button).
  The token is the authority (signed, one target, one answer, valid until the call-out's expiry
  and a grace period), so the POST needs no cookie: the service worker posts it as well.
- `/vrijwilligers/sw.js`: the service worker, scoped to /vrijwilligers/ (its own folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from stadspuls.service.errors import NotFound
from stadspuls.volunteers.answer_view import open_answer
from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.errors import BadLink
from stadspuls.volunteers.records import ANSWERS, Target
from stadspuls.web.routes.public_pages import show
from stadspuls.web.routes.volunteer_pages import callouts
from stadspuls.web.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)

PREFIX = "/vrijwilligers/antwoord"
SERVICE_WORKER = STATIC_DIR / "volunteers" / "sw.js"
MAX_TOKEN = 512


def distance_band(metres: int) -> str:
    """How far, in words a volunteer or an operator reads at a glance (never the exact point)."""
    if metres < 500:
        return "< 500 m"
    if metres < 1000:
        return "500 m – 1 km"
    for edge in (2, 5, 10, 20):
        if metres < edge * 1000:
            return f"< {edge} km"
    return "≥ 20 km"


def _links(service: CallOutService, target: Target) -> dict[str, str]:
    return {answer: service.answer_token(target.id, answer) for answer in ANSWERS}


def _bad(request: Request, error: BadLink) -> HTMLResponse:
    context = {"expired": error.expired, "what": "answer"}
    status = 410 if error.expired else 400
    return show(request, "volunteers/bad_link.html", context, status=status, private=True)


@router.get(PREFIX + "/{token}", response_class=HTMLResponse)
def answer_page(request: Request, token: str) -> HTMLResponse:
    service = callouts(request)
    try:
        opened = open_answer(service, token[:MAX_TOKEN])
    except BadLink as error:
        return _bad(request, error)
    context: dict[str, Any] = {
        "token": token,
        "offered": opened.answer,
        "target": opened.target,
        "callout": opened.callout,
        "band": distance_band(opened.target.distance_m),
        "links": _links(service, opened.target),
        "done": False,
    }
    return show(request, "volunteers/answer.html", context, private=True)


@router.post(PREFIX + "/{token}")
async def answer(request: Request, token: str) -> Response:
    """Record the answer; JSON for the service worker (it sends Accept: application/json)."""
    service = callouts(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        target = await run_in_threadpool(service.answer, token[:MAX_TOKEN])
        opened = await run_in_threadpool(open_answer, service, token[:MAX_TOKEN])
    except NotFound:  # a genuine link of a call-out the retention has deleted
        error = BadLink("this call-out is no longer kept", expired=True)
        if wants_json:
            return JSONResponse({"error": str(error)}, status_code=410)
        return _bad(request, error)
    except BadLink as error:
        if wants_json:
            return JSONResponse({"error": str(error)}, status_code=410 if error.expired else 400)
        return _bad(request, error)
    if wants_json:
        return JSONResponse({"answer": target.answer, "callout_id": target.callout_id})
    context: dict[str, Any] = {
        "token": token,
        "offered": opened.answer,
        "target": target,
        "callout": opened.callout,
        "band": distance_band(target.distance_m),
        "links": _links(service, target),
        "done": True,
    }
    return show(request, "volunteers/answer.html", context, private=True)


@router.get("/vrijwilligers/sw.js", include_in_schema=False)
def service_worker() -> Response:
    # Not cached for long: a changed worker must reach phones the next time they open a page.
    return Response(
        _worker_source(SERVICE_WORKER),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/vrijwilligers/"},
    )


def _worker_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")
