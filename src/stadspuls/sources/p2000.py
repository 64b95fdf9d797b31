"""P2000: Dutch emergency-service pager messages, as P2000 sites publish them in RSS feeds.

One feed item is one message, e.g. "P 1 BDH-01 Buitenbrand container Kerkstraat SGRAVH 157630":
priority, (often) a region/incident code, the incident, the place, and trailing capcodes (the
pager addresses of the units alerted). The capcodes say which units were paged, not what
happened, so they are kept out of the post text; the priority stays in the text as sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stadspuls.records import Post
from stadspuls.sources.base import MappingError, native_id
from stadspuls.sources.markup import html_to_text
from stadspuls.sources.rss import entry_time

SOURCE = "p2000"

# Capcodes are 6–7 digit pager addresses, listed at the end of a message.
# Some sites mask them partly ("170XXX-XXXXXX"); those go too.
_TRAILING_CAPCODES = re.compile(r"(?:\s+\d{3}[\dX]{3,4}(?:-[\dX]+)?)+\s*$")
_CAPCODE = re.compile(r"\b\d{3}[\dX]{3,4}(?:-[\dX]+)?(?=\s|$)")
# "P 1", "P1", "PRIO 1", "Prio 2" (fire brigade, police); "A1", "A 2", "B1" (ambulance).
_PRIORITY = re.compile(r"^\s*(?:(?:PRIO|P)\s?([1-5])|([AB])\s?([12]))\b", re.IGNORECASE)
# The safety region's dispatch code right after the priority: "P 1 BDH-01 …" (Haaglanden).
_REGION_CODE = re.compile(r"^(?:(?:PRIO|P|A|B)\s?\d\s+)?([A-Z]{2,4})-\d{2}\b", re.IGNORECASE)


@dataclass(frozen=True)
class P2000Message:
    text: str  # the message without capcodes
    priority: str | None  # "P1", "A2", "B1", …
    discipline: str | None  # "ambulance" when the priority says so (A/B); else unknown
    region_code: str | None  # e.g. "BDH" from "P 1 BDH-01 …"
    capcodes: tuple[str, ...]


def parse_p2000(message: str) -> P2000Message:
    """Split a pager message into its parts (best effort; nothing here is required)."""
    text = " ".join(message.split())
    capcodes: tuple[str, ...] = ()
    trailing = _TRAILING_CAPCODES.search(text)
    if trailing and trailing.start() > 0:
        capcodes = tuple(_CAPCODE.findall(trailing.group()))
        text = text[: trailing.start()].rstrip()
    priority = discipline = None
    match = _PRIORITY.match(text)
    if match:
        if match.group(1):
            priority = f"P{match.group(1)}"
        else:
            priority = f"{match.group(2).upper()}{match.group(3)}"
            discipline = "ambulance"
    region = _REGION_CODE.match(text)
    return P2000Message(
        text=text,
        priority=priority,
        discipline=discipline,
        region_code=region.group(1) if region else None,
        capcodes=capcodes,
    )


def map_p2000_item(
    entry: Mapping[str, Any], feed_title: str | None = None, fetched_at: datetime | None = None
) -> Post:
    """Map a P2000 feed item (as feedparser reads it) to a Post with the message as text."""
    if not isinstance(entry, Mapping):
        raise MappingError("expected a feed entry")
    raw = entry.get("title") or entry.get("summary")
    if not isinstance(raw, str) or not raw.strip():
        raise MappingError("missing required field 'title'")
    message = parse_p2000(html_to_text(raw).replace("\n", " "))
    created_at = entry_time(entry, fetched_at)
    key = next(
        (
            str(entry[field]).strip()
            for field in ("id", "link")
            if isinstance(entry.get(field), str) and entry[field].strip()
        ),
        None,
    )
    if key is None:
        # Without a guid, the time and the full message (capcodes included) identify a message.
        digest = hashlib.sha256(f"{created_at.isoformat()}\n{raw}".encode()).hexdigest()
        key = f"sha256:{digest}"
    native = native_id(key)
    link = entry.get("link")
    return Post(
        id=f"{SOURCE}:{native}",
        source=SOURCE,
        native_id=native,
        created_at=created_at,
        text=message.text,
        author=None,
        url=link if isinstance(link, str) and link else None,
        lang_declared="nl",
    )
