from __future__ import annotations

import time
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query, Request

from stadspuls.query.parser import MAX_QUERY_CHARS, parse
from stadspuls.settings import Settings
from stadspuls.store.posts import count_all, get_post, list_posts
from stadspuls.store.search import SearchTimeout, count_posts, search_posts
from stadspuls.web.params import Lang, Limit, Offset, Since, Sources, Until
from stadspuls.web.schemas import NO_NUL, PostOut, PostPage

router = APIRouter(tags=["posts"])


@router.get("/posts", response_model=PostPage)
def get_posts(
    request: Request,
    q: Annotated[
        str | None,
        Query(
            pattern=NO_NUL,
            description=(
                "Monitor query, e.g. (brand OR rook) AND lochem lang:nl; at most "
                f"{MAX_QUERY_CHARS:,} characters (see the query language for its other limits)"
            ),
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
    source: Sources = None,
    lang: Lang = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PostPage:
    """Stored posts, newest first; with `q`, those matching a monitor query (422 with the
    column of a syntax error or of a query over the size limits; 503 when the search runs
    past the server's time limit)."""
    engine: sa.Engine = request.app.state.engine
    if q and q.strip():
        settings: Settings = request.app.state.settings
        pseudonymise = request.app.state.pseudonymise
        query = parse(q, pseudonymise=pseudonymise)
        deadline = time.monotonic() + settings.search_timeout_s
        filters = {"since": since, "until": until, "sources": source, "lang": lang}
        found = search_posts(
            engine,
            query,
            limit=limit,
            offset=offset,
            timeout=settings.search_timeout_s,
            **filters,  # type: ignore[arg-type]
        )
        left = max(deadline - time.monotonic(), 0.001)  # one time limit for page and count
        try:
            total = count_posts(engine, query, timeout=left, **filters)  # type: ignore[arg-type]
        except SearchTimeout as error:
            raise SearchTimeout(settings.search_timeout_s) from error
    else:
        found = list_posts(
            engine, since=since, until=until, sources=source, lang=lang, limit=limit, offset=offset
        )
        total = count_all(engine, since=since, until=until, sources=source, lang=lang)
    return PostPage(
        total=total, limit=limit, offset=offset, posts=[PostOut.from_post(p) for p in found]
    )


@router.get("/posts/{post_id:path}", response_model=PostOut)
def get_one_post(
    request: Request, post_id: Annotated[str, Path(max_length=200, pattern=NO_NUL)]
) -> PostOut:
    post = get_post(request.app.state.engine, post_id)
    if post is None:
        raise HTTPException(404, f"no post {post_id!r}")
    return PostOut.from_post(post)
