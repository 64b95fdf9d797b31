"""RSS, Atom and JSON Feed entries (as feedparser reads them; JSON Feed items shaped the same way
by `jsonfeed`) → Post. Pure; the polling is in `feeds`, the bytes → text decoding in `encoding`."""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from stadspuls.records import Post
from stadspuls.sources.base import MappingError, declared_lang, native_id
from stadspuls.sources.encoding import decode_document
from stadspuls.sources.jsonfeed import looks_like_json_feed, parse_json_feed
from stadspuls.sources.markup import html_to_text

SOURCE = "rss"
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def entry_key(entry: Mapping[str, Any]) -> str:
    """The feed's own id of an entry (guid/id, else link, else a hash of its content)."""
    if not isinstance(entry, Mapping):
        raise MappingError("expected a feed entry")
    for field in ("id", "link"):
        value = entry.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    title = str(entry.get("title") or "")
    summary = str(entry.get("summary") or "")
    when = str(entry.get("published") or entry.get("updated") or "")
    if not (title or summary):
        raise MappingError("missing required field 'id' (or 'link', 'title')")
    return "sha256:" + hashlib.sha256(f"{when}\n{title}\n{summary}".encode()).hexdigest()


def entry_time(entry: Mapping[str, Any], fetched_at: datetime | None) -> datetime:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(field)
        if parsed is not None:
            # feedparser normalises every date it can read to a UTC struct_time
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    if fetched_at is None:
        raise MappingError("missing required field 'published' (or 'updated')")
    return fetched_at


def map_rss_entry(
    entry: Mapping[str, Any], feed_title: str | None = None, fetched_at: datetime | None = None
) -> Post:
    """Map a feedparser entry to a Post: text = title, a blank line, the summary as plain text;
    created_at = published/updated, else `fetched_at` (the time of the fetch)."""
    if not isinstance(entry, Mapping):
        raise MappingError("expected a feed entry")
    key = entry_key(entry)
    title = html_to_text(str(entry.get("title") or ""))
    summary = html_to_text(_summary(entry))
    if not title and not summary:
        raise MappingError("missing required field 'title' (or 'summary')")
    if summary and summary != title and not summary.startswith(title + "\n"):
        text = f"{title}\n\n{summary}" if title else summary
    else:
        text = title or summary
    native = native_id(key)
    link = entry.get("link")
    author = entry.get("author")
    lat, lon = _point(entry)
    return Post(
        id=f"{SOURCE}:{native}",
        source=SOURCE,
        native_id=native,
        created_at=entry_time(entry, fetched_at),
        text=text,
        author=author if isinstance(author, str) and author else feed_title,
        url=link if isinstance(link, str) and link else None,
        lang_declared=_language(entry),
        hashtags=tuple(
            str(tag["term"])
            for tag in entry.get("tags") or ()
            if isinstance(tag, Mapping) and tag.get("term")
        ),
        media=_media(entry),
        lat=lat,
        lon=lon,
    )


def _language(entry: Mapping[str, Any]) -> str | None:
    # feedparser gives xml:lang per text construct; the poller adds the channel's <language>
    for detail in ("title_detail", "summary_detail"):
        value = entry.get(detail)
        if isinstance(value, Mapping) and declared_lang(value.get("language")):
            return declared_lang(value.get("language"))
    return declared_lang(entry.get("language"))


def _summary(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary")
    if isinstance(summary, str) and summary:
        return summary
    for content in entry.get("content") or ():
        if isinstance(content, Mapping) and isinstance(content.get("value"), str):
            return str(content["value"])
    return ""


def _media(entry: Mapping[str, Any]) -> tuple[str, ...]:
    urls: list[str] = []
    for field in ("media_content", "enclosures"):
        for item in entry.get(field) or ():
            url = item.get("url") or item.get("href") if isinstance(item, Mapping) else None
            kind = str(item.get("type") or item.get("medium") or "image")
            if isinstance(url, str) and url not in urls and kind.startswith(("image", "video")):
                urls.append(url)
    return tuple(urls)


def _point(entry: Mapping[str, Any]) -> tuple[float | None, float | None]:
    where = entry.get("where")  # GeoRSS, as feedparser gives it (GeoJSON: lon, lat)
    coordinates = where.get("coordinates") if isinstance(where, Mapping) else None
    if where is not None and where.get("type") == "Point" and coordinates and len(coordinates) == 2:
        lon, lat = coordinates
        return float(lat), float(lon)
    return None, None


def parse_feed(
    content: bytes, content_type: str | None = None
) -> tuple[str | None, list[Mapping[str, Any]]]:
    """(feed title, entries) of a fetched document (RSS, Atom or JSON Feed, told apart by its
    content and Content-Type); a document that is no feed raises.

    The text is decoded here (`encoding.decode_document`: the HTTP charset, the XML declaration,
    else the bytes themselves) and handed to feedparser as UTF-8, so that feedparser's own
    guessing, which reads a whole document as Windows-1252 at the first stray byte, never runs.
    The channel's declared language is copied onto entries that declare none of their own."""
    text = decode_document(content, content_type)
    if looks_like_json_feed(text, content_type):
        return parse_json_feed(text)
    utf8 = '<?xml version="1.0" encoding="utf-8"?>\n' + _XML_DECLARATION.sub("", text, count=1)
    parsed = feedparser.parse(utf8.encode("utf-8"))
    if parsed.get("bozo") and not parsed.get("entries"):
        raise MappingError(f"not a feed: {parsed.get('bozo_exception')}")
    feed = parsed.get("feed", {})
    title = feed.get("title")
    language = feed.get("language")
    entries: list[Mapping[str, Any]] = []
    for entry in parsed.get("entries") or []:
        if language and not entry.get("language"):
            entry = {**entry, "language": language}
        entries.append(entry)
    return (title if isinstance(title, str) else None), entries
