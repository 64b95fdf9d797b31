"""Publishing over JSON: publications (compose, preview, submit, approve, reject, cancel, their
deliveries, history and response), templates and crisis mode. Reading and composing need
"publish"; approving, rejecting, templates and crisis mode need "approve" (the service checks,
403 otherwise). A state that does not allow the change (approving one's own outside crisis
mode, editing a published one) is 409; input that cannot be published is 422 with the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from stadspuls.publish.service import PublishService
from stadspuls.records import Actor
from stadspuls.web.auth import require
from stadspuls.web.publish_schemas import (
    INT64_MAX,
    CrisisIn,
    CrisisOut,
    DeliveryOut,
    EventOut,
    FilledOut,
    PreviewOut,
    PublicationIn,
    PublicationOut,
    PublicationPage,
    PublicationState,
    RejectIn,
    ResponseOut,
    TemplateIn,
    TemplateOut,
    TemplateValuesIn,
)

router = APIRouter(tags=["publish"])
Staff = Annotated[Actor, Depends(require("publish"))]
Approver = Annotated[Actor, Depends(require("approve"))]
PublicationId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The publication's id")]
TemplateName = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", description="The template's name")
]


def _service(request: Request) -> PublishService:
    service: PublishService = request.app.state.publish
    return service


@router.get("/publications", response_model=PublicationPage)
def list_publications(
    request: Request,
    actor: Staff,
    state: PublicationState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=INT64_MAX, description="Older than")] = None,
) -> PublicationPage:
    """Publications, newest first."""
    found = _service(request).recent(actor, state=state, limit=limit, before_id=before_id)
    return PublicationPage(
        publications=[PublicationOut.of(p) for p in found],
        next_before_id=found[-1].id if len(found) == limit else None,
    )


@router.post(
    "/publications",
    response_model=PublicationOut,
    status_code=201,
    responses={422: {"description": "Cannot be published as it is; `field` says which"}},
)
def create_publication(request: Request, actor: Staff, body: PublicationIn) -> PublicationOut:
    """A new draft, written by you."""
    return PublicationOut.of(_service(request).create(actor, body.record()))


@router.post("/publications/preview", response_model=list[PreviewOut])
def preview_publication(request: Request, actor: Staff, body: PublicationIn) -> list[PreviewOut]:
    """What each chosen channel will show (parts, length as the channel counts, link card),
    without saving."""
    del actor
    return [PreviewOut.of(p) for p in _service(request).preview(body.record())]


@router.get("/publications/{publication_id}", response_model=PublicationOut)
def get_publication(
    request: Request, actor: Staff, publication_id: PublicationId
) -> PublicationOut:
    return PublicationOut.of(_service(request).get(actor, publication_id))


@router.put("/publications/{publication_id}", response_model=PublicationOut)
def update_publication(
    request: Request, actor: Staff, publication_id: PublicationId, body: PublicationIn
) -> PublicationOut:
    """Edit a draft, pending or rejected publication (yours, or as someone who may approve);
    it becomes a draft again, to be submitted as it now is."""
    return PublicationOut.of(_service(request).update(actor, publication_id, body.record()))


@router.post("/publications/{publication_id}/submit", response_model=PublicationOut)
def submit_publication(
    request: Request, actor: Staff, publication_id: PublicationId
) -> PublicationOut:
    """Ask for approval."""
    return PublicationOut.of(_service(request).submit(actor, publication_id))


@router.post("/publications/{publication_id}/approve", response_model=PublicationOut)
def approve_publication(
    request: Request, actor: Approver, publication_id: PublicationId
) -> PublicationOut:
    """Approve someone else's (your own only in a declared crisis mode): it is published now,
    or at its scheduled time. Needs "approve"."""
    return PublicationOut.of(_service(request).approve(actor, publication_id))


@router.post("/publications/{publication_id}/reject", response_model=PublicationOut)
def reject_publication(
    request: Request, actor: Approver, publication_id: PublicationId, body: RejectIn
) -> PublicationOut:
    """Send it back to its author with a reason. Needs "approve"."""
    return PublicationOut.of(_service(request).reject(actor, publication_id, body.reason))


@router.post("/publications/{publication_id}/cancel", response_model=PublicationOut)
def cancel_publication(
    request: Request, actor: Staff, publication_id: PublicationId
) -> PublicationOut:
    """Cancel one not yet published."""
    return PublicationOut.of(_service(request).cancel(actor, publication_id))


@router.get("/publications/{publication_id}/deliveries", response_model=list[DeliveryOut])
def publication_deliveries(
    request: Request, actor: Staff, publication_id: PublicationId
) -> list[DeliveryOut]:
    """One row per channel: pending (with its next try), sent (with where), or failed."""
    return [DeliveryOut.of(d) for d in _service(request).deliveries(actor, publication_id)]


@router.get("/publications/{publication_id}/events", response_model=list[EventOut])
def publication_events(
    request: Request, actor: Staff, publication_id: PublicationId
) -> list[EventOut]:
    """Everything that happened to it, oldest first."""
    return [EventOut.of(e) for e in _service(request).events(actor, publication_id)]


@router.get("/publications/{publication_id}/responses", response_model=list[ResponseOut])
def publication_responses(
    request: Request, actor: Staff, publication_id: PublicationId
) -> list[ResponseOut]:
    """Replies, reposts, quotes and links hour by hour since it was published, beside the
    volume of the monitor it is about."""
    return [ResponseOut.of(r) for r in _service(request).responses(actor, publication_id)]


@router.get("/publish/templates", response_model=list[TemplateOut])
def list_templates(request: Request, actor: Staff) -> list[TemplateOut]:
    del actor
    return [TemplateOut.of(t) for t in _service(request).templates()]


@router.put("/publish/templates/{name}", response_model=TemplateOut)
def put_template(
    request: Request, actor: Approver, name: TemplateName, body: TemplateIn
) -> TemplateOut:
    """Create or replace a template; an unknown placeholder is 422. Needs "approve"."""
    from stadspuls.publish.records import PublishTemplate

    template = PublishTemplate(name=name, title=body.title, body=body.body, lang=body.lang)
    return TemplateOut.of(_service(request).save_template(actor, template))


@router.post("/publish/templates/{name}/fill", response_model=FilledOut)
def fill_template(
    request: Request, actor: Staff, name: TemplateName, body: TemplateValuesIn
) -> FilledOut:
    """The template's title and text with its placeholders filled: the start of a draft
    (nothing is saved). A placeholder without a value is 422."""
    draft = _service(request).from_template(actor, name, body.values)
    return FilledOut(template=name, title=draft.title, body=draft.body, lang=draft.lang)


@router.delete("/publish/templates/{name}", status_code=204)
def delete_template(request: Request, actor: Approver, name: TemplateName) -> Response:
    """Needs "approve"."""
    _service(request).delete_template(actor, name)
    return Response(status_code=204)


@router.get("/publish/crisis", response_model=CrisisOut | None)
def get_crisis(request: Request, actor: Staff) -> CrisisOut | None:
    """The crisis mode in force, or null."""
    del actor
    found = _service(request).crisis()
    return None if found is None else CrisisOut.of(found)


@router.post("/publish/crisis", response_model=CrisisOut, status_code=201)
def declare_crisis(request: Request, actor: Approver, body: CrisisIn) -> CrisisOut:
    """Declare crisis mode: until it ends, authors may approve their own publications (logged
    as such). Replaces one in force. Needs "approve"."""
    return CrisisOut.of(_service(request).declare_crisis(actor, body.reason, body.hours))


@router.delete("/publish/crisis", status_code=204)
def end_crisis(request: Request, actor: Approver) -> Response:
    """End crisis mode; 409 when none is in force. Needs "approve"."""
    _service(request).end_crisis(actor)
    return Response(status_code=204)
