"""Records ↔ table rows: how a Post is stored in `posts` and read back.

Times are integer microseconds since the epoch (UTC); lists and places are JSON text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from stadspuls.records import Place, Post
from stadspuls.sealed import is_sealed

_json_encode = msgspec.json.Encoder().encode
_places_decode = msgspec.json.Decoder(tuple[Place, ...]).decode
_strings_decode = msgspec.json.Decoder(tuple[str, ...]).decode
_meta_decode = msgspec.json.Decoder(dict[str, str | list[str]]).decode

COLUMNS = (
    "id", "source", "native_id", "created_us", "collected_us", "text", "author_key", "url",
    "lang_declared", "lang", "lang_score", "hashtags", "mentions", "links", "media", "lat",
    "lon", "reply_to", "repost_of", "content_hash", "simhash", "duplicate_of", "duplicate_kind",
    "sentiment", "sentiment_score", "incident_type", "incident_score", "incident_labels",
    "humanitarian", "informativeness", "rumour_score", "places", "scored_by", "meta",
)  # fmt: skip
_LIST_COLUMNS = ("hashtags", "mentions", "links", "media", "incident_labels")


class UnpseudonymisedPost(ValueError):
    """A post (or deletion) still carries a raw identity: it did not pass the door."""


# What a platform id that names its author looks like (did:plc:…/rkey, host/users/name/…,
# 4cat:platform/id). Keyed ids are "source:" + hex; a bare numeric id names nobody.
_RAW_ID = re.compile(r"did:|[@/]")


def check_stored_id(value: str | None) -> None:
    if value is not None and _RAW_ID.search(value):
        raise UnpseudonymisedPost("a post id in clear reached the store; run it through the door")


def _check(post: Post) -> None:
    # The messages name no id: an id that fails here is the raw one.
    if post.author is not None:
        raise UnpseudonymisedPost("a post has a raw author handle; run it through the door")
    for value in (post.id, post.reply_to, post.repost_of, post.duplicate_of):
        check_stored_id(value)
    if (post.url is not None and not is_sealed(post.url)) or not all(
        map(is_sealed, (*post.links, *post.media))
    ):
        raise UnpseudonymisedPost("a post has a URL in clear; run it through the door")


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must be UTC-aware")
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def _json_or_none(values: tuple[Any, ...]) -> str | None:
    return _json_encode(values).decode() if values else None


def post_to_row(post: Post, collected_us: int) -> tuple[Any, ...]:
    _check(post)
    return (
        post.id,
        post.source,
        post.native_id,
        to_us(post.created_at),
        to_us(post.collected_at) if post.collected_at else collected_us,
        post.text,
        post.author_key,
        post.url,
        post.lang_declared,
        post.lang,
        post.lang_score,
        _json_or_none(post.hashtags),
        _json_or_none(post.mentions),
        _json_or_none(post.links),
        _json_or_none(post.media),
        post.lat,
        post.lon,
        post.reply_to,
        post.repost_of,
        post.content_hash,
        post.simhash,
        post.duplicate_of,
        post.duplicate_kind,
        post.sentiment,
        post.sentiment_score,
        post.incident_type,
        post.incident_score,
        _json_or_none(post.incident_labels),
        post.humanitarian,
        post.informativeness,
        post.rumour_score,
        _json_or_none(post.places),
        post.scored_by,
        _json_encode(post.meta).decode() if post.meta else None,
    )


# The enrichment columns a later stage may rewrite (the accurate stage, stadspuls.enrich.accurate).
SCORE_COLUMNS = (
    "sentiment", "sentiment_score", "incident_type", "incident_score", "incident_labels",
    "humanitarian", "informativeness", "rumour_score", "scored_by",
)  # fmt: skip


def score_values(post: Post) -> dict[str, Any]:
    """The post's `SCORE_COLUMNS`, as stored."""
    values = {name: getattr(post, name) for name in SCORE_COLUMNS}
    values["incident_labels"] = _json_or_none(post.incident_labels)
    return values


def row_to_post(row: Mapping[Any, Any]) -> Post:
    """Map a `posts` row (any mapping with the column names) back to a Post."""
    values: dict[str, Any] = {}
    for name in COLUMNS:
        value = row[name]
        if name in _LIST_COLUMNS:
            value = _strings_decode(value) if value else ()
        elif name == "places":
            value = _places_decode(value) if value else ()
        elif name == "meta":
            value = _meta_decode(value) if value else None
        values[name] = value
    created_us = values.pop("created_us")
    collected_us = values.pop("collected_us")
    return Post(created_at=from_us(created_us), collected_at=from_us(collected_us), **values)
