"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/) → entries shaped as feedparser
shapes RSS and Atom entries, so that one mapping (`rss.map_rss_entry`, `p2000.map_p2000_item`)
reads every kind of feed.

The spec's rules for readers are followed: an `id` given as a number is coerced to a string;
1.1's `authors` and 1.0's `author` are both read; an item's `language` (1.1) falls back to the
feed's. An item that is not an object is passed on as it is, for the mapping to count as
malformed; a document that is no JSON Feed raises.
"""

from __future__ import annotations

import html
import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from stadspuls.sources.base import MappingError

VERSION_PREFIX = "https://jsonfeed.org/version/"
MEDIA_TYPES = ("application/feed+json", "application/json")


def looks_like_json_feed(text: str, content_type: str | None) -> bool:
    """JSON by its first character, which outranks the Content-Type (servers send feeds as
    text/plain, or XML as application/json); by its Content-Type when the start says nothing."""
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start in ("{", "<"):
        return start == "{"
    return (content_type or "").split(";", 1)[0].strip().lower() in MEDIA_TYPES


def _string(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _time(value: object) -> Any:
    """RFC 3339 → a UTC struct_time, as feedparser gives `published_parsed`; None if unreadable."""
    text = _string(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
        if moment.tzinfo is None:  # RFC 3339 requires an offset; a bare date is taken as UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).timetuple()
    except (ValueError, OverflowError):  # overflow: year 1 less an hour
        return None


def _author(obj: Mapping[str, Any]) -> str | None:
    authors = obj.get("authors")
    candidates = list(authors) if isinstance(authors, list) else []
    candidates.append(obj.get("author"))
    for author in candidates:
        if isinstance(author, Mapping):
            name = _string(author.get("name")) or _string(author.get("url"))
            if name:
                return name
    return None


def _id(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return _string(value)


def _entry(item: Mapping[str, Any], language: str | None, author: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    key = _id(item.get("id"))
    if key is not None:
        entry["id"] = key
    link = _string(item.get("url")) or _string(item.get("external_url"))
    if link:
        entry["link"] = link
    title = _string(item.get("title"))
    if title:
        entry["title"] = title
    content_html = _string(item.get("content_html"))
    content_text = _string(item.get("content_text"))
    summary = _string(item.get("summary"))
    if content_html:
        entry["summary"] = content_html
    elif content_text or summary:
        # Plain text, passed as HTML that reads as that text (line breaks included).
        entry["summary"] = html.escape(content_text or summary or "").replace("\n", "<br>")
    for field, target in (
        ("date_published", "published_parsed"),
        ("date_modified", "updated_parsed"),
    ):
        parsed = _time(item.get(field))
        if parsed is not None:
            entry[target] = parsed
    name = _author(item) or author
    if name:
        entry["author"] = name
    tags = item.get("tags")
    if isinstance(tags, list):
        entry["tags"] = [{"term": tag} for tag in tags if _string(tag)]
    images = [_string(item.get(field)) for field in ("image", "banner_image")]
    entry["media_content"] = [{"url": url, "medium": "image"} for url in images if url]
    attachments = item.get("attachments")
    entry["enclosures"] = [
        {"href": url, "type": _string(a.get("mime_type")) or mimetypes.guess_type(url)[0] or ""}
        for a in (attachments if isinstance(attachments, list) else [])
        if isinstance(a, Mapping) and (url := _string(a.get("url")))
    ]
    item_language = _string(item.get("language")) or language
    if item_language:
        entry["language"] = item_language
    return entry


def parse_json_feed(text: str) -> tuple[str | None, list[Any]]:
    """(feed title, entries) of a JSON Feed document; MappingError when it is none."""
    try:
        document = msgspec.json.decode(text.lstrip("\ufeff"))
    except msgspec.DecodeError as error:
        raise MappingError(f"not a feed: invalid JSON ({error})") from error
    version = document.get("version") if isinstance(document, Mapping) else None
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise MappingError(f"not a feed: JSON without a {VERSION_PREFIX}… version")
    items = document.get("items")
    if not isinstance(items, list):
        raise MappingError("not a feed: a JSON Feed without an 'items' list")
    language = _string(document.get("language"))
    author = _author(document)
    entries = [
        _entry(item, language, author) if isinstance(item, Mapping) else item for item in items
    ]
    return _string(document.get("title")), entries
