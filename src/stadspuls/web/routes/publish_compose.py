"""Writing a publication: `/publicaties/nieuw` and `/publicaties/{id}/bewerken` (title, text, a
text of its own per channel, link, images with their alt text, channels, schedule, the monitor
or alert it is about, a template to start from), and the live preview per channel that htmx
asks for while the author types (`/publicaties/voorbeeld`).

The form posts multipart (an image may come along) with the session's CSRF token; what the form
or the service refuses is shown beside its field, keeping everything typed. Saving keeps a
draft; "submit" saves and sends it for approval in one go.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from stadspuls.access.roles import Forbidden, allows
from stadspuls.media.errors import MediaRejected
from stadspuls.media.intake import MediaIntake
from stadspuls.publish.records import MediaItem, Publication
from stadspuls.publish.service import PublishError, PublishService, PublishStateError
from stadspuls.records import Actor, Monitor
from stadspuls.service.errors import NotFound
from stadspuls.service.reads import ReadService
from stadspuls.store import media as media_store
from stadspuls.web.auth import identify
from stadspuls.web.pages.guard import page
from stadspuls.web.routes.pages import form_csrf_ok
from stadspuls.web.routes.public_pages import BodyTooLarge, chunks, read_form
from stadspuls.web.routes.publish_form import (
    IMAGE_TYPES,
    Composed,
    FieldProblem,
    compose,
    from_template,
    text_of,
    values_of,
)
from stadspuls.web.routes.publish_views import EDITABLE, publish_of, target_label
from stadspuls.web.templating import language, render

router = APIRouter(include_in_schema=False)
Author = Annotated[Actor, Depends(page("publish"))]

# A publication carries a few images (Mastodon takes four, Bluesky four).
MAX_IMAGES = 4
# The form's text and a few images; each image is held to the inbox's own file cap as well.
_SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, max-age=3600",
}
FORM_CAP = MAX_IMAGES * 25 * 1024 * 1024 + 1024 * 1024

EXPIRED = "This form had expired (or came from another page). Nothing was changed: try again."
# Where a service's refusal is shown: its field when the form has one, else above the form.
FIELDS = {"title", "body", "link", "targets", "schedule", "media", "image", "image_alt"}
FIELD_ALIASES = {"scheduled_at": "schedule", "text": "body", "alt": "media", "images": "media"}


def _media(request: Request) -> MediaIntake:
    found: MediaIntake = request.app.state.media
    return found


@router.get("/publicaties/nieuw")
def new_page(
    request: Request,
    actor: Author,
    sjabloon: Annotated[str | None, Query(max_length=200)] = None,
    monitor: Annotated[int | None, Query(ge=1)] = None,
    alert: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    service = publish_of(request)
    available = service.available_targets()
    draft = Publication(title="", body="", targets=tuple(t for t in ("news",) if t in available))
    chosen = next((t for t in service.templates() if t.name == sjabloon), None)
    if chosen is not None:
        draft = from_template(chosen, available)
    if monitor or alert:
        draft = msgspec.structs.replace(draft, monitor_id=monitor, alert_id=alert)
    return _form(request, actor, service, draft, publication_id=None)


@router.get("/publicaties/{publication_id}/bewerken")
def edit_page(request: Request, publication_id: int, actor: Author) -> Response:
    service = publish_of(request)
    try:
        found = service.get(actor, publication_id)
    except (NotFound, Forbidden):
        return render(request, "publish/not_found.html", {"nav": "publish"}, status=404)
    if found.state not in EDITABLE:
        return RedirectResponse(f"/publicaties/{publication_id}", status_code=303)
    return _form(request, actor, service, found, publication_id=publication_id)


@router.post("/publicaties/nieuw")
async def create(request: Request, actor: Author) -> Response:
    return await _save(request, actor, None)


@router.post("/publicaties/{publication_id}/bewerken")
async def update(request: Request, publication_id: int, actor: Author) -> Response:
    return await _save(request, actor, publication_id)


@router.post("/publicaties/voorbeeld")
async def preview(request: Request, actor: Author) -> Response:
    """The preview fragment for what is typed now (nothing is saved)."""
    del actor
    service = publish_of(request)
    async with request.form() as form:
        composed = compose(form, available=service.available_targets())
    return render(
        request,
        "publish/_previews.html",
        _previews(service, composed.publication),
    )


async def _save(request: Request, actor: Actor, publication_id: int | None) -> Response:
    service = publish_of(request)
    identity = identify(request)
    assert identity is not None  # page("publish") let only a signed-in reader through
    base = None
    if publication_id is not None:
        try:
            base = service.get(actor, publication_id)
        except (NotFound, Forbidden):
            return render(request, "publish/not_found.html", {"nav": "publish"}, status=404)
    try:
        form = await read_form(request, FORM_CAP, MAX_IMAGES + 1)
    except BodyTooLarge:
        draft = base or Publication(title="", body="")
        problems = [FieldProblem("image", "The image is too large.")]
        return _form(request, actor, service, draft, publication_id, problems, status=413)
    except ValueError:
        return Response("not a form", status_code=400)
    try:
        return await _save_form(request, actor, service, form, base, publication_id)
    finally:
        await form.close()  # an uploaded file's spooled copy


async def _save_form(
    request: Request,
    actor: Actor,
    service: PublishService,
    form: FormData,
    base: Publication | None,
    publication_id: int | None,
) -> Response:
    identity = identify(request)
    assert identity is not None
    available = service.available_targets()
    composed = compose(form, available=available, base=base)
    if not form_csrf_ok(identity, text_of(form, "csrf")):
        return _form(
            request, actor, service, composed.publication, publication_id, error=EXPIRED, status=403
        )
    problems = list(composed.problems)
    draft = composed.publication
    added, image_problem = await _upload(request, form, composed)
    if image_problem is not None:
        problems.append(image_problem)
    if added is not None:
        draft = msgspec.structs.replace(draft, media=(*draft.media, added))
    if len(draft.media) > MAX_IMAGES:
        problems.append(FieldProblem("image", "At most four images."))
    if problems:
        return _form(request, actor, service, draft, publication_id, problems, status=422)
    try:
        if publication_id is None:
            saved = service.create(actor, draft)
        else:
            saved = service.update(actor, publication_id, draft)
        assert saved.id is not None
        done = "saved"
        if text_of(form, "action") == "submit":
            service.submit(actor, saved.id)
            done = "submitted"
    except PublishError as error:
        field = FIELD_ALIASES.get(error.field or "", error.field or "")
        if field.startswith("variants."):
            field = "variant_" + field.partition(".")[2]
        found = [FieldProblem(field, str(error))] if field else []
        return _form(
            request,
            actor,
            service,
            draft,
            publication_id,
            found,
            error=None if found else str(error),
            status=422,
        )
    except PublishStateError as error:
        return _form(request, actor, service, draft, publication_id, error=str(error), status=409)
    return RedirectResponse(f"/publicaties/{saved.id}?done={done}", status_code=303)


async def _upload(
    request: Request, form: FormData, composed: Composed
) -> tuple[MediaItem | None, FieldProblem | None]:
    """The image sent with this form, taken into the media vault as the intake takes a
    citizen's photo (checked by content, decoded in a worker, a stripped copy made)."""
    upload = form.get("image")
    if not isinstance(upload, UploadFile) or not (upload.filename or upload.size):
        return None, None
    if not composed.new_alt:
        return None, FieldProblem("image_alt", "Describe the image (alt text).")
    filename = (upload.filename or "")[:300]
    try:
        accepted = await _media(request).accept(
            chunks(upload), filename=filename, declared_type=upload.content_type
        )
    except MediaRejected as rejected:
        return None, FieldProblem("image", rejected.message(language(request)))
    if accepted.content_type not in IMAGE_TYPES:
        return None, FieldProblem("image", "Only a photo (JPEG, PNG or WebP), no video.")
    item = MediaItem(
        sha256=accepted.sha256,
        content_type=accepted.content_type,
        alt=composed.new_alt,
        width=accepted.width,
        height=accepted.height,
    )
    return item, None


@router.get("/publicaties/beeld/{sha256}")
def staff_image(request: Request, sha256: str, actor: Author) -> Response:
    """An image as the author sees it while composing: the vault's thumbnail (or, for a large
    view, its metadata-stripped copy; never the original)."""
    del actor
    vault = _media(request).vault
    with request.app.state.engine.connect() as conn:
        # A citizen's photo is for the case's own staff (with its custody log), not for authors.
        citizens = media_store.case_hashes(conn, [sha256])
    try:
        path = None if citizens else vault.thumb_of(sha256) or vault.stripped_of(sha256)
    except ValueError:
        path = None
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    kind = {".jpg": "image/jpeg", ".png": "image/png"}.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=kind, headers=_SAFE_HEADERS)


def _monitors(request: Request, actor: Actor) -> list[Monitor]:
    reads: ReadService = request.app.state.reads
    try:
        return [monitor for monitor, _count in reads.monitors(actor)]
    except Forbidden:
        return []


def _previews(service: PublishService, publication: Publication) -> dict[str, object]:
    if not publication.targets:
        return {"previews": [], "preview_error": None, "target_label": target_label}
    if not publication.body.strip() and not any(v.strip() for v in publication.variants.values()):
        # An empty form: an invitation, not a row of "too short" warnings.
        return {"previews": [], "preview_error": None, "target_label": target_label, "empty": True}
    try:
        found = service.preview(publication)
    except PublishError as error:
        return {"previews": [], "preview_error": str(error), "target_label": target_label}
    return {"previews": found, "preview_error": None, "target_label": target_label}


def _form(
    request: Request,
    actor: Actor,
    service: PublishService,
    draft: Publication,
    publication_id: int | None,
    problems: list[FieldProblem] | None = None,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    errors: dict[str, str] = {}
    for problem in problems or []:
        errors.setdefault(problem.field, problem.message)
    unplaced = [
        message
        for field, message in errors.items()
        if field not in FIELDS and not field.startswith(("media_alt_", "variant_"))
    ]
    return render(
        request,
        "publish/compose.html",
        {
            "nav": "publish",
            "publication_id": publication_id,
            "form": values_of(draft),
            "available": service.available_targets(),
            "templates": service.templates(),
            "errors": errors,
            "error": error or (unplaced[0] if unplaced else None),
            "monitors": _monitors(request, actor),
            "crisis": service.crisis(),
            "can_approve": allows(actor, "approve"),
            **_previews(service, draft),
        },
        status=status,
    )
