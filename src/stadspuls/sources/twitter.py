"""X/Twitter API v2 tweet objects → Post (for imports of collections made elsewhere).

A tweet refers to its author and media by key; the `includes` of the API response that carried
it resolve them (`includes.users`, `includes.media`). Collections flattened by twarc2 put the
author object on the tweet itself (`author`); both are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from stadspuls.records import Post, utc
from stadspuls.sources.base import MappingError, declared_lang, required

SOURCE = "twitter"


def _by_key(
    includes: Mapping[str, Any] | None, kind: str, key: str
) -> dict[str, Mapping[str, Any]]:
    if not isinstance(includes, Mapping):
        return {}
    return {
        str(item[key]): item
        for item in includes.get(kind) or ()
        if isinstance(item, Mapping) and item.get(key) is not None
    }


def _entities(entities: object, kind: str, field: str) -> tuple[str, ...]:
    items = entities.get(kind) if isinstance(entities, Mapping) else None
    return tuple(
        str(item[field]) for item in items or () if isinstance(item, Mapping) and item.get(field)
    )


def map_tweet(tweet: Mapping[str, Any], includes: Mapping[str, Any] | None = None) -> Post:
    """Map one API v2 tweet object; `includes` is the `includes` of its response, if any."""
    if not isinstance(tweet, Mapping):
        raise MappingError("expected a tweet object")
    tweet_id = str(required(tweet, "id"))
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, Mapping) else None
    if not isinstance(text, str):
        text = required(tweet, "text")
    if not isinstance(text, str):
        raise MappingError("field 'text' is not a string")
    created = required(tweet, "created_at")
    try:
        created_at = utc(datetime.fromisoformat(str(created)))
    except ValueError as error:
        raise MappingError(f"field 'created_at' is not an ISO 8601 time: {created!r}") from error
    users = _by_key(includes, "users", "id")
    author_obj = tweet.get("author")
    if not isinstance(author_obj, Mapping):
        author_obj = users.get(str(tweet.get("author_id")))
    username = author_obj.get("username") if isinstance(author_obj, Mapping) else None
    author = username if isinstance(username, str) else tweet.get("author_id")
    entities = tweet.get("entities")
    media_by_key = _by_key(includes, "media", "media_key")
    media: list[str] = []
    attachments = tweet.get("attachments")
    for key in attachments.get("media_keys") or () if isinstance(attachments, Mapping) else ():
        item = media_by_key.get(str(key))
        url = (item.get("url") or item.get("preview_image_url")) if item else None
        if isinstance(url, str):
            media.append(url)
    reply_to = repost_of = None
    for ref in _references(tweet.get("referenced_tweets")):
        if ref.get("type") == "replied_to":
            reply_to = f"{SOURCE}:{ref['id']}"
        elif ref.get("type") == "retweeted":
            repost_of = f"{SOURCE}:{ref['id']}"
    lat, lon = _coordinates(tweet.get("geo"))
    url = (
        f"https://x.com/{username}/status/{tweet_id}"
        if isinstance(username, str)
        else f"https://x.com/i/web/status/{tweet_id}"
    )
    return Post(
        id=f"{SOURCE}:{tweet_id}",
        source=SOURCE,
        native_id=tweet_id,
        created_at=created_at,
        text=text,
        author=str(author) if author is not None else None,
        url=url,
        lang_declared=declared_lang(tweet.get("lang")),
        hashtags=_entities(entities, "hashtags", "tag"),
        mentions=_entities(entities, "mentions", "username"),
        links=_entities(entities, "urls", "expanded_url"),
        media=tuple(media),
        lat=lat,
        lon=lon,
        reply_to=reply_to,
        repost_of=repost_of,
    )


def _references(refs: object) -> Iterator[Mapping[str, Any]]:
    for ref in refs if isinstance(refs, list) else ():
        if isinstance(ref, Mapping) and ref.get("id") is not None:
            yield ref


def _coordinates(geo: object) -> tuple[float | None, float | None]:
    point = geo.get("coordinates") if isinstance(geo, Mapping) else None
    coords = point.get("coordinates") if isinstance(point, Mapping) else None
    if isinstance(coords, list) and len(coords) == 2:
        lon, lat = coords  # GeoJSON order
        return float(lat), float(lon)
    return None, None


def iter_response(payload: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Any]]:
    """(tweet, includes) pairs of one line of a collection: an API response or a bare tweet."""
    data = payload.get("data")
    if isinstance(data, list | Mapping) and "text" not in payload:
        includes = payload.get("includes")
        for tweet in data if isinstance(data, list) else [data]:
            yield tweet, includes
    else:
        yield payload, None
