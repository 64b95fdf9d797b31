"""The organisation's own news, for everyone (no login): `/nieuws` (newest first, a page at a
time), `/nieuws/{id}-{slug}` (one item with its images and their alt text), and the same items
as feeds, `/nieuws/rss.xml` (RSS 2.0) and `/nieuws/atom.xml` (Atom), built with feedgen.

Only publications that went out with the target "news" are here (`PublishService.published`).
Links in the feeds are absolute, from the public address (`inbox.public_url`, else this
server's host and port). Pages and feeds carry an ETag and Last-Modified from the newest item, so a
feed reader polling every few minutes gets a 304 until something new is published. Images are
the vault's metadata-stripped copies (no camera, no GPS), served only for a published item.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from feedgen.feed import FeedGenerator

from stadspuls.media.intake import MediaIntake
from stadspuls.publish.news import public_base
from stadspuls.publish.records import Publication
from stadspuls.publish.service import PublishService
from stadspuls.settings import Settings
from stadspuls.web.routes.public_pages import language, settings_of, show

router = APIRouter(include_in_schema=False)

PAGE = 10  # items on one news page
# A feed reader or visitor may keep a page this long before asking again (with its ETag).
MAX_AGE_S = 300
_ITEM = re.compile(r"^(\d{1,12})(?:-[a-z0-9-]{0,200})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_STRIPPED_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}


def _service(request: Request) -> PublishService:
    found: PublishService = request.app.state.publish
    return found


def base_url(request: Request) -> str:
    """The public address the links start with (no trailing slash): the same as the one the
    other channels link to (a Mastodon post's link to its news item)."""
    return public_base(settings_of(request))


def item_path(publication: Publication) -> str:
    slug = publication.slug or ""
    return f"/nieuws/{publication.id}-{slug}" if slug else f"/nieuws/{publication.id}"


def text_of(publication: Publication) -> str:
    """What the news page shows: its own variant, else the text."""
    return publication.variants.get("news") or publication.body


def paragraphs(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def _stamp(items: Sequence[Publication], *parts: object) -> tuple[str, datetime | None]:
    """An ETag of what the response is made of, and the newest change among the items."""
    times = [t for p in items for t in (p.published_at, p.updated_at) if t is not None]
    newest = max(times) if times else None
    digest = hashlib.sha256(
        repr((parts, [(p.id, p.updated_at, p.published_at) for p in items])).encode()
    )
    return f'"{digest.hexdigest()[:32]}"', newest


def _fresh(request: Request, etag: str, newest: datetime | None) -> bool:
    """Whether the reader's copy is still good (If-None-Match first, as RFC 9110 says)."""
    match = request.headers.get("if-none-match")
    if match is not None:
        return etag in {tag.strip() for tag in match.split(",")} or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since and newest is not None:
        try:
            return newest.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _cache(response: Response, etag: str, newest: datetime | None) -> Response:
    response.headers["ETag"] = etag
    # A page that sets the language cookie (?lang=) is this reader's: no shared cache keeps it.
    shared = "private" if "set-cookie" in response.headers else "public"
    response.headers["Cache-Control"] = f"{shared}, max-age={MAX_AGE_S}"
    response.headers["Vary"] = "Accept-Language, Cookie"
    if newest is not None:
        response.headers["Last-Modified"] = format_datetime(newest.astimezone(UTC), usegmt=True)
    return response


def _not_modified(etag: str, newest: datetime | None) -> Response:
    return _cache(Response(status_code=304), etag, newest)


@router.get("/nieuws")
def news_page(request: Request, voor: Annotated[int | None, Query(ge=1)] = None) -> Response:
    found = _service(request).published(limit=PAGE + 1, before_id=voor)
    items = found[:PAGE]
    older = items[-1].id if len(found) > PAGE and items else None
    etag, newest = _stamp(items, "page", voor, language(request))
    if _fresh(request, etag, newest):
        return _not_modified(etag, newest)
    response = show(
        request,
        "public/news.html",
        {
            "items": items,
            "older": older,
            "newer": voor is not None,
            "text_of": text_of,
            "paragraphs": paragraphs,
            "item_path": item_path,
            "base": base_url(request),
            "title": settings_of(request).publish.news_title,
        },
    )
    return _cache(response, etag, newest)


@router.get("/nieuws/rss.xml")
def rss(request: Request) -> Response:
    return _feed(request, "rss")


@router.get("/nieuws/atom.xml")
def atom(request: Request) -> Response:
    return _feed(request, "atom")


def one_item(service: PublishService, publication_id: int) -> Publication | None:
    """The published news item with this id, or None."""
    return service.published_one(publication_id)


@router.get("/nieuws/{item}")
def news_item(request: Request, item: str) -> Response:
    matched = _ITEM.match(item)
    found = one_item(_service(request), int(matched.group(1))) if matched else None
    if found is None:
        return show(
            request,
            "public/news_missing.html",
            {"title": _title(request), "base": base_url(request)},
            status=404,
        )
    if item != item_path(found).rsplit("/", 1)[1]:
        # An old or shortened address: to the one address of this item.
        return RedirectResponse(item_path(found), status_code=301)
    etag, newest = _stamp([found], "item", language(request))
    if _fresh(request, etag, newest):
        return _not_modified(etag, newest)
    response = show(
        request,
        "public/news_item.html",
        {
            "p": found,
            "text": paragraphs(text_of(found)),
            "base": base_url(request),
            "title": _title(request),
            "item_path": item_path,
        },
    )
    return _cache(response, etag, newest)


@router.get("/nieuws/{publication_id}/beeld/{sha256}")
def news_image(request: Request, publication_id: int, sha256: str) -> Response:
    """An image of a published item: its metadata-stripped copy, never the original."""
    found = one_item(_service(request), publication_id)
    if found is None or not _SHA256.match(sha256) or sha256 not in {m.sha256 for m in found.media}:
        return Response("not found", status_code=404, media_type="text/plain")
    intake: MediaIntake = request.app.state.media
    path = intake.vault.stripped_of(sha256)
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(
        path,
        media_type=_STRIPPED_TYPES.get(path.suffix, "application/octet-stream"),
        headers={
            "Cache-Control": "public, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


def _title(request: Request) -> str:
    return settings_of(request).publish.news_title


def _feed(request: Request, kind: str) -> Response:
    settings: Settings = settings_of(request)
    items = _service(request).published(limit=settings.publish.news_items)
    etag, newest = _stamp(items, kind)
    if _fresh(request, etag, newest):
        return _not_modified(etag, newest)
    base = base_url(request)
    feed = FeedGenerator()
    feed.id(f"{base}/nieuws")
    feed.title(settings.publish.news_title)
    feed.link(href=f"{base}/nieuws", rel="alternate")
    feed.link(href=f"{base}/nieuws/{'rss' if kind == 'rss' else 'atom'}.xml", rel="self")
    feed.description(settings.publish.news_title)
    feed.language(items[0].lang if items else "nl")
    feed.updated(newest or datetime(2000, 1, 1, tzinfo=UTC))
    for publication in items:
        url = base + item_path(publication)
        entry = feed.add_entry(order="append")
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(publication.title or text_of(publication)[:80])
        entry.link(href=url)
        content = entry_html(publication, base)
        if kind == "rss":
            entry.description(content)
        else:
            entry.content(content, type="html")
            entry.summary(text_of(publication)[:300])
        when = publication.published_at or publication.updated_at or publication.created_at
        if when is not None:
            entry.published(when)
            entry.updated(publication.updated_at or when)
    if kind == "rss":
        body = feed.rss_str(pretty=True)
        media_type = "application/rss+xml; charset=utf-8"
    else:
        body = feed.atom_str(pretty=True)
        media_type = "application/atom+xml; charset=utf-8"
    return _cache(Response(body, media_type=media_type), etag, newest)


def entry_html(publication: Publication, base: str) -> str:
    """The item as HTML for a feed reader: its text escaped (it is plain text), its link and
    its images with their alt text."""
    parts = [
        f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>"
        for part in paragraphs(text_of(publication))
    ]
    if publication.link:
        link = html.escape(publication.link, quote=True)
        parts.append(f'<p><a href="{link}">{link}</a></p>')
    for media in publication.media:
        src = f"{base}/nieuws/{publication.id}/beeld/{media.sha256}"
        parts.append(f'<p><img src="{src}" alt="{html.escape(media.alt, quote=True)}"></p>')
    return "\n".join(parts)
