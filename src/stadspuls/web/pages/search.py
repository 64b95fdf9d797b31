"""Search (`/search?q=…`): the monitor query language over the stored posts, the error shown at
its column, and "save as monitor" (the create form, prefilled). Analysts only: the results are
post texts. A query naming `@handle` re-identifies and asks for a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import Actor
from stadspuls.service.errors import Forbidden, ReasonRequired
from stadspuls.service.reads import ReadService
from stadspuls.service.views import PostsPage
from stadspuls.store.search import SearchTimeout
from stadspuls.web.pages.catalogue import INCIDENT_LABELS
from stadspuls.web.pages.guard import page, reads
from stadspuls.web.pages.syntax import QueryProblem, problem_at
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
    q: Annotated[str, Query(max_length=2000)] = "",
    reason: Annotated[str, Query(max_length=500)] = "",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    results: PostsPage | None = None
    problem: QueryProblem | None = None
    notice: str | None = None
    if q.strip():
        try:
            results = service.posts(
                actor, query=q, reason=reason.strip() or None, limit=PAGE_SIZE, offset=offset
            )
        except QuerySyntaxError as error:
            problem = problem_at(q, error)
        except ReasonRequired:
            notice = "reason"
        except Forbidden:
            notice = "reidentify"
        except SearchTimeout:
            notice = "timeout"
    context = {
        "incident_labels": INCIDENT_LABELS,
        "nav": "search",
        "q": q,
        "reason": reason,
        "results": results,
        "problem": problem,
        "notice": notice,
        "asks_reason": "@" in q,
    }
    return render(request, "pages/search.html", context)
