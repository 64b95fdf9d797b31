from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request

from stadspuls.store.posts import count_all, get_post, list_posts
from stadspuls.store.search import count_posts, search_posts
from stadspuls.web.schemas import PostOut, PostPage

router = APIRouter(tags=["posts"])


@router.get("/posts", response_model=PostPage)
def get_posts(
    request: Request,
    q: Annotated[
        str | None, Query(description="Monitor query, e.g. (brand OR rook) AND lochem lang:nl")
    ] = None,
    since: Annotated[datetime | None, Query(description="Only posts created at or after")] = None,
    until: Annotated[datetime | None, Query(description="Only posts created before")] = None,
    source: Annotated[list[str] | None, Query(description="Sources, e.g. bluesky")] = None,
    lang: Annotated[str | None, Query(description="ISO 639-1 language code")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PostPage:
    """Stored posts, newest first; with `q`, those matching a monitor query (422 with the
    column of a syntax error)."""
    engine: sa.Engine = request.app.state.engine
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(422, "since/until need a time zone, e.g. 2026-11-23T10:00:00Z")
    if q and q.strip():
        pseudonymise = request.app.state.pseudonymise
        filters = {"since": since, "until": until, "sources": source, "lang": lang}
        found = search_posts(
            engine,
            q,
            limit=limit,
            offset=offset,
            pseudonymise=pseudonymise,
            **filters,  # type: ignore[arg-type]
        )
        total = count_posts(engine, q, pseudonymise=pseudonymise, **filters)  # type: ignore[arg-type]
    else:
        found = list_posts(
            engine, since=since, until=until, sources=source, lang=lang, limit=limit, offset=offset
        )
        total = count_all(engine, since=since, until=until, sources=source, lang=lang)
    return PostPage(
        total=total, limit=limit, offset=offset, posts=[PostOut.from_post(p) for p in found]
    )


@router.get("/posts/{post_id:path}", response_model=PostOut)
def get_one_post(request: Request, post_id: str) -> PostOut:
    post = get_post(request.app.state.engine, post_id)
    if post is None:
        raise HTTPException(404, f"no post {post_id!r}")
    return PostOut.from_post(post)
