"""Post texts (permission "posts"): listing, search, one post, and the original's link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from stadspuls.query.parser import MAX_QUERY_CHARS
from stadspuls.records import Actor
from stadspuls.web.auth import require
from stadspuls.web.params import Lang, Limit, Offset, Place, Reason, Since, Sources, Until
from stadspuls.web.routes import reads
from stadspuls.web.schemas import NO_NUL, LinkIn, LinkOut, PostOut, PostPage

router = APIRouter(tags=["posts"])
PostId = Annotated[str, Path(max_length=200, pattern=NO_NUL)]


@router.get("/posts", response_model=PostPage)
def get_posts(
    request: Request,
    actor: Annotated[Actor, Depends(require("posts"))],
    q: Annotated[
        str | None,
        Query(
            pattern=NO_NUL,
            description=(
                "Monitor query, e.g. (brand OR rook) AND lochem lang:nl; at most "
                f"{MAX_QUERY_CHARS:,} characters (see the query language for its other limits)."
                " `@handle` terms need the re-identify permission and a `reason`."
            ),
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
    source: Sources = None,
    lang: Lang = None,
    place: Place = None,
    monitor: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Only posts this monitor matched")
    ] = None,
    reason: Reason = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PostPage:
    """Stored posts, newest first; with `q`, those matching a monitor query (422 with the
    column of a syntax error or of a query over the size limits; 503 when the search runs
    past the server's time limit). Every call is written to the audit log."""
    total, found = reads(request).post_records(
        actor, query=q, monitor_id=monitor, since=since, until=until, sources=source,
        lang=lang, place=place, limit=limit, offset=offset, reason=reason,
    )  # fmt: skip
    return PostPage(
        total=total, limit=limit, offset=offset, posts=[PostOut.from_post(p) for p in found]
    )


@router.get("/posts/{post_id:path}", response_model=PostOut)
def get_one_post(
    request: Request, actor: Annotated[Actor, Depends(require("posts"))], post_id: PostId
) -> PostOut:
    return PostOut.from_post(reads(request).post_record(actor, post_id))


@router.post("/posts/{post_id:path}/link", response_model=LinkOut)
def open_link(
    request: Request,
    actor: Annotated[Actor, Depends(require("posts"))],
    post_id: PostId,
    body: LinkIn,
) -> LinkOut:
    """The link to the original post, unsealed (it names or leads to the author): the reason
    is written to the audit log. 404 for a post without one."""
    return LinkOut(url=reads(request).open_link(actor, post_id, body.reason))
