"""A monitor's alert rules (`/monitors/{id}/rules`): per detector on or off, its sensitivity,
quiet hours (Amsterdam time) and where its alerts go. Shown on the monitor's edit page; one form
for all detectors, checked as a whole before any rule is stored."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stadspuls.alerts.rules import AlertRule, RuleError
from stadspuls.records import DETECTORS, Actor
from stadspuls.service.errors import NotFound
from stadspuls.service.reads import ReadService
from stadspuls.web.auth import check_csrf, identify
from stadspuls.web.pages.catalogue import DETECTOR_LABELS
from stadspuls.web.pages.guard import PageNotFound, page, reads
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)


def rules_context(service: ReadService, actor: Actor, monitor_id: int) -> dict[str, object]:
    """What the edit page needs to show the rules form."""
    return {"rules": service.rules(actor, monitor_id), "detector_labels": DETECTOR_LABELS}


def _rule(monitor_id: int, detector: str, form: dict[str, str]) -> AlertRule:
    """The rule as the form gives it; `RuleError` for a number or list that cannot be read."""
    try:
        sensitivity = float(form.get(f"{detector}-sensitivity", "1").replace(",", "."))
    except ValueError as error:
        raise RuleError(f"{detector}: sensitivity is not a number") from error
    quiet = form.get(f"{detector}-quiet", "").strip() or None
    channels = tuple(
        c.strip() for c in form.get(f"{detector}-channels", "").split(",") if c.strip()
    )
    return AlertRule(
        monitor_id=monitor_id,
        detector=detector,
        enabled=bool(form.get(f"{detector}-enabled")),
        sensitivity=sensitivity,
        quiet_hours=quiet,
        channels=channels or ("live",),
    )


@router.post("/monitors/{monitor_id}/rules", response_class=HTMLResponse)
async def save_rules(
    request: Request,
    monitor_id: int,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
) -> Response:
    identity = identify(request)
    assert identity is not None  # the page dependency let only a logged-in user through
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(identity, form.get("csrf"))
    try:
        before = {r.detector: r for r in service.rules(actor, monitor_id)}
        monitor, _ = service.monitor(actor, monitor_id)
    except NotFound as error:
        raise PageNotFound(str(error)) from error
    try:
        rules = [
            msgspec.structs.replace(_rule(monitor_id, d, form), params=before[d].params)
            for d in DETECTORS
        ]
        service.set_rules(actor, monitor_id, rules)
    except RuleError as error:
        context = {
            "nav": "monitors",
            "monitor": monitor,
            "rules": list(before.values()),
            "typed": form,  # what was typed is shown again, not what was stored
            "detector_labels": DETECTOR_LABELS,
            "rules_error": str(error),
        }
        return render(request, "pages/monitor_rules.html", context, status=422)
    return RedirectResponse(f"/monitors/{monitor_id}/edit?saved=rules#rules", status_code=303)
