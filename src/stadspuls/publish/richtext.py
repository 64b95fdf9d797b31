"""Bluesky's rich text and record keys, as pure functions.

Facets. A link or hashtag in a post is only a link when the record says so: a facet with the
UTF-8 byte range it covers (byteStart inclusive, byteEnd exclusive; not characters: "é" is two
bytes, an emoji four or more) and its feature (app.bsky.richtext.facet#link / #tag). Hashtags
follow Bluesky's rule: after the start or a space, not only digits, at most 64 characters,
without trailing punctuation.

Record keys. createRecord takes no idempotency key, but it takes the record key (rkey), and a
repository holds one record per key. So each part of a delivery gets a TID (the key type of
app.bsky.feed.post: 13 base32-sortable characters, 53 bits of microseconds and 10 bits of clock
id) made from the publication's time, the delivery id and the part's number: a retry after a
lost answer asks for the same key, is refused as existing, and the post is found instead of
made twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stadspuls.publish.preview import URL

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
MAX_TAG = 64
_TAG = re.compile(r"(?:^|(?<=\s))[#＃]([^\s#＃]*[^\d\s\W][^\s#＃]*)")
_TAG_TRAILING = re.compile(r"[.,;:!?'\"()\[\]{}…]+$")
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    byte_start = len(text[:start].encode())
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode())}


def _link(text: str, start: int, end: int, uri: str) -> dict[str, Any]:
    return {
        "$type": "app.bsky.richtext.facet",
        "index": _byte_range(text, start, end),
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


def facets(text: str, short_links: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The link and hashtag facets of `text`, in the lexicon's JSON shape. `short_links`: the
    short forms of links shown in the text, each with the whole URL its facet carries."""
    found: list[dict[str, Any]] = []
    links: list[tuple[int, int]] = []
    for match in URL.finditer(text):
        found.append(_link(text, match.start(), match.end(), match.group()))
        links.append((match.start(), match.end()))
    for short, uri in (short_links or {}).items():
        # Only where it stands on its own, as the link stood: not the start of a longer link.
        alone = re.compile(rf"(?<![^\s(\[{{\"'“‘]){re.escape(short)}(?=$|[\s.,;:!?)\]}}'\"’”])")
        for match in alone.finditer(text):
            start, end = match.span()
            if not any(a < end and start < b for a, b in links):
                found.append(_link(text, start, end, uri))
                links.append((start, end))
    for match in _TAG.finditer(text):
        tag = _TAG_TRAILING.sub("", match.group(1))
        start = match.start()
        if not tag or len(tag) > MAX_TAG or any(a <= start < b for a, b in links):
            continue
        found.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": _byte_range(text, start, start + 1 + len(tag)),
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    return sorted(found, key=lambda facet: int(facet["index"]["byteStart"]))


def tid(micros: int, clock_id: int) -> str:
    """A TID: the top bit 0, 53 bits of microseconds since 1970, 10 bits of clock id."""
    if not 0 <= micros < 2**53 or not 0 <= clock_id < 1024:
        raise ValueError("a TID holds 53 bits of time and 10 of clock id")
    value = (micros << 10) | clock_id
    return "".join(TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


def record_key(delivery_id: int, part: int, when: datetime | None) -> str:
    """The rkey of part `part` (0-based, < 10) of a delivery: the same on every retry, and
    different for every delivery (its id in the low microseconds and the clock id)."""
    if not 0 <= part < 10:
        raise ValueError("a thread has at most 10 parts")
    base = when or _EPOCH
    millis = int(base.timestamp() * 1000)
    micros = millis * 1000 + delivery_id % 1000
    clock_id = (delivery_id // 1000) % 100 * 10 + part
    return tid(micros, clock_id)
