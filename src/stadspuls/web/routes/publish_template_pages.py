"""The publication templates (one tone of voice): `/publicaties/sjablonen` lists them with a
form to write a new one or change one (`?naam=`), and deletes one. The service decides who may
change them; placeholders ({plaats}, {tijd}, {link}, ...) stay for the author to fill in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access.roles import Forbidden, allows
from stadspuls.publish.records import PublishTemplate
from stadspuls.publish.service import PublishError
from stadspuls.records import Actor
from stadspuls.service.errors import NotFound
from stadspuls.web.auth import identify
from stadspuls.web.pages.guard import page
from stadspuls.web.routes.pages import form_csrf_ok, form_fields
from stadspuls.web.routes.publish_views import publish_of
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
Author = Annotated[Actor, Depends(page("publish"))]

EXPIRED = "This form had expired (or came from another page). Nothing was changed: try again."
DONE = {"saved": "The template was saved.", "deleted": "The template was deleted."}


@router.get("/publicaties/sjablonen")
def template_list(
    request: Request,
    actor: Author,
    naam: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    found = publish_of(request).templates()
    chosen = next((t for t in found if t.name == naam), None)
    values = {"name": "", "title": "", "body": "", "lang": "nl", "original": ""}
    if chosen is not None:
        values = {
            "name": chosen.name,
            "title": chosen.title,
            "body": chosen.body,
            "lang": chosen.lang,
            "original": chosen.name,
        }
    return _page(request, values, done=DONE.get(done or ""), can_edit=allows(actor, "approve"))


def _page(
    request: Request,
    values: dict[str, str],
    *,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    can_edit: bool = True,
) -> Response:
    return render(
        request,
        "publish/templates.html",
        {
            "nav": "publish",
            "templates": publish_of(request).templates(),
            "form": values,
            "done": done,
            "errors": errors or {},
            "error": error,
            # The service lets only approvers keep the templates (the organisation's voice).
            "can_edit": can_edit,
        },
        status=status,
    )


@router.post("/publicaties/sjablonen")
async def save(request: Request, actor: Author) -> Response:
    identity = identify(request)
    assert identity is not None
    form = await form_fields(request)
    values = {key: form.get(key, "").strip() for key in ("name", "title", "body", "lang")}
    values["original"] = form.get("original", "")
    if not form_csrf_ok(identity, form.get("csrf")):
        return _page(request, values, error=EXPIRED, status=403)
    errors = {}
    if not values["name"]:
        errors["name"] = "Give the template a name."
    if not values["body"]:
        errors["body"] = "A template needs text."
    if errors:
        return _page(request, values, errors=errors, status=422)
    service = publish_of(request)
    try:
        service.save_template(
            actor,
            PublishTemplate(
                name=values["name"][:200],
                title=values["title"][:300],
                body=values["body"][:20_000],
                lang=values["lang"] if values["lang"] in ("nl", "en") else "nl",
            ),
        )
        if values["original"] and values["original"] != values["name"]:
            service.delete_template(actor, values["original"])
    except PublishError as refused:
        field = refused.field if refused.field in ("name", "title", "body") else None
        if field:
            return _page(request, values, errors={field: str(refused)}, status=422)
        return _page(request, values, error=str(refused), status=422)
    except Forbidden as refused:
        return _page(request, values, error=str(refused), status=403)
    return RedirectResponse("/publicaties/sjablonen?done=saved", status_code=303)


@router.post("/publicaties/sjablonen/verwijderen")
async def delete(request: Request, actor: Author) -> Response:
    identity = identify(request)
    assert identity is not None
    form = await form_fields(request)
    empty = {"name": "", "title": "", "body": "", "lang": "nl", "original": ""}
    if not form_csrf_ok(identity, form.get("csrf")):
        return _page(request, empty, error=EXPIRED, status=403)
    try:
        publish_of(request).delete_template(actor, form.get("name", ""))
    except NotFound:
        pass  # gone already: what was asked for is true
    except Forbidden as refused:
        return _page(request, empty, error=str(refused), status=403)
    return RedirectResponse("/publicaties/sjablonen?done=deleted", status_code=303)
