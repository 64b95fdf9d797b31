"""The overview (`/`): every monitor as a row, sorted by what needs attention. htmx reloads only
the list every 30 seconds (the same URL, answered with the fragment when htmx asks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from stadspuls.records import Actor
from stadspuls.service.reads import ReadService
from stadspuls.web.pages.guard import page, reads
from stadspuls.web.pages.sparkline import sparkline
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
REFRESH_S = 30


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    actor: Annotated[Actor, Depends(page("aggregates"))],
    service: Annotated[ReadService, Depends(reads)],
) -> HTMLResponse:
    view = service.overview(actor)
    context = {
        "nav": "overview",
        "view": view,
        "sparks": {s.monitor.id: sparkline(s.spark) for s in view.monitors},
        "refresh_s": REFRESH_S,
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "pages/_overview_list.html", context)
    return render(request, "pages/overview.html", context)
