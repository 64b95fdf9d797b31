"""Calls for tips (`/oproep/{slug}`): the call's page with its own questions beside the report's
fields, and a QR code of its address for posters and screens (`/oproep/{slug}/qr.svg`)."""

from __future__ import annotations

import io

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.records import Call
from stadspuls.web.routes.public import form_page, submit
from stadspuls.web.routes.public_form import ReportForm
from stadspuls.web.routes.public_pages import settings_of, show

router = APIRouter(include_in_schema=False)


def _open_call(request: Request, slug: str) -> Call | None:
    admin: CaseAdmin = request.app.state.case_admin
    return admin.open_call(slug)


def call_url(request: Request, slug: str) -> str:
    base = settings_of(request).inbox.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/oproep/{slug}"


def _closed(request: Request, slug: str) -> HTMLResponse:
    """Unknown, not yet open, ended or closed: one friendly page (a poster may outlive its
    call), which does not say which."""
    return show(request, "public/call_closed.html", {"slug": slug}, status=404)


@router.get("/oproep/{slug}")
async def call_page(request: Request, slug: str) -> HTMLResponse:
    call = await run_in_threadpool(_open_call, request, slug)
    if call is None:
        return _closed(request, slug)
    return form_page(request, ReportForm(kind="tip"), call=call)


@router.post("/oproep/{slug}")
async def call_report(request: Request, slug: str) -> Response:
    call = await run_in_threadpool(_open_call, request, slug)
    if call is None:
        return show(request, "public/call_closed.html", {"slug": slug}, status=410)
    return await submit(request, call)


@router.get("/oproep/{slug}/qr.svg")
async def call_qr(request: Request, slug: str) -> Response:
    call = await run_in_threadpool(_open_call, request, slug)
    if call is None:
        return Response(
            "no open call with this address\n", status_code=404, media_type="text/plain"
        )
    # Medium error correction: a printed poster survives some dirt and folds.
    code = segno.make(call_url(request, call.slug), error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=8, border=4, xmldecl=False, title=call.title)
    return Response(
        out.getvalue(),
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "no-cache",
            "Content-Disposition": f'inline; filename="oproep-{call.slug}.svg"',
        },
    )
