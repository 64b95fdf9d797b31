"""Citizens' photos and videos for staff: thumbnail, the metadata-stripped copy, the original
(as an attachment), the verification findings, and an export of a case's originals.

Behind the pages' login (permission "cases") and the case's department: the case service's
`view` decides who sees a case, and these routes ask it for every item. Views of the stripped
copy, downloads and exports are logged (media.custody). Every file is sent with its stored type,
`nosniff` and a sandboxing CSP: a file that slipped through as something else still cannot run
in the browser.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from stadspuls.cases.records import MediaItem
from stadspuls.cases.service import CaseService
from stadspuls.cases.views import CaseView
from stadspuls.media import custody, verify
from stadspuls.media.intake import MediaIntake
from stadspuls.records import Actor, utcnow
from stadspuls.store import media as store
from stadspuls.web.auth import CSRF_HEADER, check_csrf, identify
from stadspuls.web.pages.guard import page

router = APIRouter(include_in_schema=False)
Staff = Annotated[Actor, Depends(page("cases"))]

_SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
}
_STRIPPED_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}
# A play sign on grey, 320 x 240, for a video's thumbnail (our own drawing, no script).
_VIDEO_SIGN = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240">'
    b'<rect width="320" height="240" fill="#3b4a5a"/>'
    b'<circle cx="160" cy="120" r="52" fill="#ffffff" fill-opacity="0.9"/>'
    b'<path d="M142 92 L142 148 L190 120 Z" fill="#3b4a5a"/></svg>'
)


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _intake(request: Request) -> MediaIntake:
    intake: MediaIntake = request.app.state.media
    return intake


def _visible(request: Request, actor: Actor, media_id: int) -> tuple[MediaItem, CaseView]:
    """The item and its case, when the actor may see the case (404 otherwise: whether an item
    exists in another department's case is not for them to learn)."""
    with _engine(request).connect() as conn:
        item = store.get(conn, media_id)
    if item is None:
        raise HTTPException(404, f"no media {media_id}")
    cases: CaseService = request.app.state.cases
    view = cases.view(actor, item.case_id)  # NotFound (404) for a case the actor may not see
    return item, view


def _file(path: Path, content_type: str, *, filename: str, attachment: bool) -> FileResponse:
    disposition = "attachment" if attachment else "inline"
    return FileResponse(
        path,
        media_type=content_type,
        headers=_SAFE_HEADERS,
        filename=filename,
        content_disposition_type=disposition,
    )


@router.get("/cases/media/{media_id}/thumb")
def thumbnail(request: Request, media_id: int, actor: Staff) -> Response:
    item, _ = _visible(request, actor, media_id)
    path = _intake(request).vault.thumb_of(item.sha256)
    if path is None and item.content_type.startswith("video/"):
        # Videos are not decoded (docs/media.md): a drawn "video" sign stands in.
        return Response(_VIDEO_SIGN, media_type="image/svg+xml", headers=_SAFE_HEADERS)
    if path is None:
        raise HTTPException(404, "no thumbnail")
    return _file(path, "image/jpeg", filename=f"{item.id}-thumb.jpg", attachment=False)


@router.get("/cases/media/{media_id}/view")
def stripped(request: Request, media_id: int, actor: Staff) -> Response:
    """The copy without metadata; its first view by a person within the hour is logged. A
    video has no stripped copy (it is not decoded): its original plays inline, logged alike."""
    item, _ = _visible(request, actor, media_id)
    vault = _intake(request).vault
    if item.content_type.startswith("video/"):
        path: Path | None = vault.path_of(item.sha256)
        content_type = item.content_type
        suffix = custody.extension(item.content_type)
    else:
        path = vault.stripped_of(item.sha256)
        content_type = _STRIPPED_TYPES.get(path.suffix, "") if path is not None else ""
        suffix = path.suffix if path is not None else ""
    if path is None or not path.exists():
        raise HTTPException(404, "no viewable copy")
    with _engine(request).begin() as conn:
        custody.record_view(conn, actor, item, at=utcnow())
    return _file(path, content_type, filename=f"{item.id}{suffix}", attachment=False)


@router.get("/cases/media/{media_id}/original")
def original(request: Request, media_id: int, actor: Staff) -> Response:
    """The original byte for byte, as an attachment; every download is logged."""
    item, _ = _visible(request, actor, media_id)
    path = _intake(request).vault.path_of(item.sha256)
    if not path.exists():
        raise HTTPException(410, "the original is gone (retention)")
    with _engine(request).begin() as conn:
        custody.record(conn, actor, item, "media.download", at=utcnow())
    name = f"{item.id}-{item.sha256[:12]}{custody.extension(item.content_type)}"
    return _file(path, item.content_type, filename=name, attachment=True)


@router.get("/cases/media/{media_id}/verify")
def verification(request: Request, media_id: int, actor: Staff) -> Response:
    """The verification findings of one item, as JSON (the case page shows them)."""
    item, view = _visible(request, actor, media_id)
    with _engine(request).connect() as conn:
        found = verify.findings(conn, item, case=view.case, call=view.call)
        group_size = store.group_sizes(conn, [item.group_id or item.id]).get(
            item.group_id or item.id, 1
        )
    return JSONResponse(
        {
            "media_id": item.id,
            "sha256": item.sha256,
            "group_id": item.group_id,
            "group_size": group_size,
            "findings": [
                {
                    "kind": one.kind,
                    "severity": one.severity,
                    "nl": one.nl,
                    "en": one.en,
                    "values": one.values,
                }
                for one in found
            ],
        },
        headers={"Cache-Control": "private, no-store"},
    )


@router.post("/cases/{case_id}/media/export")
async def export(request: Request, case_id: int, actor: Staff) -> Response:
    """A zip of the case's originals with a manifest (SHA-256, received time, custody)."""
    identity = identify(request)
    assert identity is not None  # the page guard let the request in
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        field = form.get("csrf")
        token = field if isinstance(field, str) else None
    check_csrf(identity, token)
    return await run_in_threadpool(_export_sync, request, actor, case_id)


def _export_sync(request: Request, actor: Actor, case_id: int) -> Response:
    cases: CaseService = request.app.state.cases
    view = cases.view(actor, case_id)
    if not view.media:
        raise HTTPException(404, "this case has no photos or videos")
    fd, name = tempfile.mkstemp(prefix="export-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as out, _engine(request).begin() as conn:
            custody.export(
                conn, _intake(request).vault, actor, view.case, view.media, out, at=utcnow()
            )
    except BaseException:
        os.unlink(name)
        raise
    filename = f"{view.case.reference}-media.zip"
    return FileResponse(
        name,
        media_type="application/zip",
        headers=_SAFE_HEADERS,
        filename=filename,
        background=BackgroundTask(os.unlink, name),
    )
