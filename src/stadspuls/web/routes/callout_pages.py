"""The staff call-out screen (permission "callouts"):

- `/oproepen-vrijwilligers`: the call-outs, and the form for a new one: a point on the map, a
  place or a postcode (or an alert's place, `?alert=ID`), radius, message, skills, how many
  people, how long;
- `/oproepen-vrijwilligers/{id}`: the answers live (counts, and each selected volunteer by rank,
  distance band, skills and answer; a name only once they accepted), "ask more", "close", and
  the log. The live part is a fragment (`…/live`) that htmx fetches every few seconds.

Staff never see a volunteer's point or a list of volunteers: only what a call-out's targets
show, and the count of volunteers by state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.volunteers.errors import VolunteerError
from stadspuls.volunteers.records import ANSWERS, SKILLS, CallOut, Target
from stadspuls.web.pages.guard import PageNotFound, page, reads
from stadspuls.web.routes.inbox_admin_forms import Posted, posted
from stadspuls.web.routes.public_form import FieldError
from stadspuls.web.routes.volunteer_answer import distance_band
from stadspuls.web.routes.volunteer_form import POSTCODE, SKILL_LABELS
from stadspuls.web.routes.volunteer_pages import callouts, volunteers
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
Operator = Annotated[Actor, Depends(page("callouts"))]
HOME = "/oproepen-vrijwilligers"
LIVE_EVERY_S = 2
EXPIRY_CHOICES = (15, 30, 60, 120, 240, 480, 1440)  # minutes


def _found(callout_id: int, request: Request, actor: Actor) -> CallOut:
    try:
        return callouts(request).get(actor, callout_id)
    except NotFound as error:
        raise PageNotFound(str(error)) from error


def _blank(request: Request, actor: Actor, alert_id: str) -> dict[str, Any]:
    settings = request.app.state.settings.volunteers
    form: dict[str, Any] = {
        "title": "",
        "message": "",
        "where": "",
        "lat": "",
        "lon": "",
        "place": "",
        "radius_km": "2",
        "skills": (),
        "wanted": str(settings.default_wanted),
        "expiry": str(int(settings.default_expiry_minutes)),
        "alert_id": "",
    }
    if alert_id.isdigit():
        try:
            alert, _events, _sent = reads(request).alert_history(actor, int(alert_id))
        except (NotFound, Forbidden):
            return form
        form["alert_id"] = alert_id
        form["where"] = alert.top_places[0] if alert.top_places else ""
        form["title"] = alert.summary[:200]
    return form


def list_page(
    request: Request,
    actor: Actor,
    form: dict[str, Any],
    errors: list[FieldError] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "nav": "callouts",
        "form": form,
        "errors": errors or [],
        "error_fields": {e.field for e in errors or []},
        "callouts": callouts(request).recent(actor, limit=50),
        "counts": volunteers(request).counts(),
        "skills": [(code, SKILL_LABELS[code]) for code in SKILLS],
        "expiries": EXPIRY_CHOICES,
    }
    return render(request, "callouts/list.html", context, status=status)


@router.get(HOME, response_class=HTMLResponse)
def callouts_page(request: Request, actor: Operator, alert: str = "") -> HTMLResponse:
    return list_page(request, actor, _blank(request, actor, alert[:20]))


def _form_of(form: Posted) -> dict[str, Any]:
    return {
        "title": form.get("title").strip()[:200],
        "message": form.get("message").strip()[:2000],
        "where": form.get("where").strip()[:100],
        "lat": form.get("lat").strip()[:32],
        "lon": form.get("lon").strip()[:32],
        "place": form.get("place").strip()[:100],
        "radius_km": form.get("radius_km").strip()[:16],
        "skills": tuple(s for s in form.all("skills") if s),
        "wanted": form.get("wanted").strip()[:8],
        "expiry": form.get("expiry").strip()[:8],
        "alert_id": form.get("alert_id").strip()[:20],
    }


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if value == value else None


def _check(form: dict[str, Any]) -> list[FieldError]:
    errors = []
    if not form["title"]:
        errors.append(FieldError(field="title", message="Give the call-out a title."))
    if not form["message"]:
        errors.append(FieldError(field="message", message="Write what the volunteers should do."))
    if not (form["lat"] and form["lon"]) and not form["where"]:
        errors.append(
            FieldError(field="address", message="Give a postcode, a place, or a point on the map.")
        )
    if _number(form["radius_km"]) is None:
        errors.append(FieldError(field="radius_km", message="Give a distance in kilometres."))
    if not form["wanted"].isdigit():
        errors.append(FieldError(field="wanted", message="Give a whole number of people."))
    if not form["expiry"].isdigit() or int(form["expiry"]) <= 0:
        errors.append(FieldError(field="expiry", message="Choose how long the call-out runs."))
    return errors


def _where(form: dict[str, Any]) -> dict[str, float | str]:
    lat, lon = _number(form["lat"]), _number(form["lon"])
    if lat is not None and lon is not None:
        return {"lat": lat, "lon": lon}
    postcode = POSTCODE.match(form["where"])
    if postcode is not None:
        return {"postcode": postcode.group(1)}
    return {"place": form["where"]}


def _field(error: VolunteerError) -> str:
    field = error.field or "title"
    if field in {"postcode", "place", "lat", "lon", "point", "location", "where"}:
        return "address"
    if field in {"radius", "radius_km"}:
        return "radius_km"
    if field in {"expires_at", "expiry"}:
        return "expiry"
    return field if field in {"title", "message", "skills", "wanted"} else "title"


@router.post(HOME)
async def create(request: Request, actor: Operator) -> Response:
    form = _form_of(await posted(request))
    errors = _check(form)
    if errors:
        return list_page(request, actor, form, errors, status=422)
    try:
        where = _where(form)
        location = await run_in_threadpool(
            lambda: volunteers(request).locate(**where)  # type: ignore[arg-type]
        )
        # A point is named by the municipality the map showed (else the service names it).
        label = form["place"] if "lat" in where else location.label
        callout = CallOut(
            title=form["title"],
            message=form["message"],
            lat=location.lat,
            lon=location.lon,
            place_label=label,
            radius_km=float(_number(form["radius_km"]) or 0),
            skills=form["skills"],
            wanted=int(form["wanted"]),
            expires_at=utcnow() + timedelta(minutes=int(form["expiry"])),
            alert_id=int(form["alert_id"]) if form["alert_id"].isdigit() else None,
        )
        made = await run_in_threadpool(callouts(request).create, actor, callout)
    except VolunteerError as error:
        shown = [FieldError(field=_field(error), message=str(error))]
        return list_page(request, actor, form, shown, status=422)
    return RedirectResponse(f"{HOME}/{made.id}", status_code=303)


def live_context(request: Request, actor: Actor, callout: CallOut) -> dict[str, Any]:
    """The counts, the targets and the log (the live part of the page)."""
    assert callout.id is not None
    service = callouts(request)
    targets = service.targets(actor, callout.id)
    counts = {answer: sum(1 for t in targets if t.answer == answer) for answer in ANSWERS}
    # Who arrived had accepted first: the "coming" count includes them.
    counts["accepted"] += counts["arrived"]
    return {
        "callout": callout,
        "targets": [_row(t) for t in targets],
        "counts": counts,
        "selected": len(targets),
        "reached": sum(1 for t in targets if t.reached),
        "unanswered": sum(1 for t in targets if t.answer is None),
        "skill_labels": SKILL_LABELS,
        "live_every": LIVE_EVERY_S,
        "now": utcnow(),
    }


def _row(target: Target) -> dict[str, Any]:
    return {"target": target, "band": distance_band(target.distance_m)}


@router.get(HOME + "/{callout_id}", response_class=HTMLResponse)
def callout_page(request: Request, actor: Operator, callout_id: int) -> HTMLResponse:
    return _detail(request, actor, callout_id)


def _detail(
    request: Request, actor: Actor, callout_id: int, error: str = "", status: int = 200
) -> HTMLResponse:
    callout = _found(callout_id, request, actor)
    assert callout.id is not None
    events = callouts(request).events(actor, callout.id)
    context = {"nav": "callouts", "error": error, "events": events}
    context |= live_context(request, actor, callout)
    return render(request, "callouts/detail.html", context, status=status)


@router.get(HOME + "/{callout_id}/live", response_class=HTMLResponse)
def callout_live(request: Request, actor: Operator, callout_id: int) -> HTMLResponse:
    callout = _found(callout_id, request, actor)
    response = render(request, "callouts/_live.html", live_context(request, actor, callout))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(HOME + "/{callout_id}/log", response_class=HTMLResponse)
def callout_log(request: Request, actor: Operator, callout_id: int) -> HTMLResponse:
    callout = _found(callout_id, request, actor)
    assert callout.id is not None
    context = {
        "callout": callout,
        "events": callouts(request).events(actor, callout.id),
        "live_every": LIVE_EVERY_S,
    }
    response = render(request, "callouts/_log.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(HOME + "/{callout_id}/uitbreiden")
async def extend(request: Request, actor: Operator, callout_id: int) -> Response:
    form = await posted(request)
    more = form.get("more").strip()
    count = int(more) if more.isdigit() else 0
    _found(callout_id, request, actor)
    try:
        await run_in_threadpool(callouts(request).extend, actor, callout_id, max(1, count))
    except VolunteerError as error:  # closed meanwhile, or too many asked for
        return _detail(request, actor, callout_id, str(error), status=409)
    return RedirectResponse(f"{HOME}/{callout_id}", status_code=303)


@router.post(HOME + "/{callout_id}/sluiten")
async def close(request: Request, actor: Operator, callout_id: int) -> Response:
    form = await posted(request)
    _found(callout_id, request, actor)
    try:
        await run_in_threadpool(
            callouts(request).close, actor, callout_id, form.get("note").strip()[:500]
        )
    except VolunteerError as error:  # another operator closed it, or it expired
        return _detail(request, actor, callout_id, str(error), status=409)
    return RedirectResponse(f"{HOME}/{callout_id}", status_code=303)
