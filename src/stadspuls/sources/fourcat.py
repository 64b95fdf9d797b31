"""Items exported from 4CAT (NDJSON) → Post.

4CAT stores imported items (from Zeeschuimer and others) as the platform's own item with the
capture metadata under `__import_meta` (source_platform, timestamp_collected, …); Zeeschuimer's
own files have the reverse shape (`data` holds the item, the metadata sits beside it); 4CAT's
mapped exports are flat (`id`, `body`, `author`, `timestamp`). All three are read; the item
fields tried are the common ones across 4CAT's data sources (TikTok, Instagram, Telegram,
Twitter, Reddit, 4chan …). The id is `4cat:{platform}/{item id}`.

X items are tweets in the shape of X's web GraphQL API (`rest_id`, `legacy.full_text`, …):
they are mapped by `xgraphql` (the platform written "x.com" whether Zeeschuimer says
"twitter.com" or "x.com", so that a tweet keeps one id), and the tweets they retweet or quote
are posts too (`embedded_posts`).
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from stadspuls.records import Post, utc
from stadspuls.sources.base import MappingError, SkippedPayload, declared_lang, native_id
from stadspuls.sources.markup import html_to_text
from stadspuls.sources.mastodon import PUBLIC_VISIBILITY
from stadspuls.sources.xgraphql import PostId, embedded, is_graphql_tweet, map_graphql_tweet

SOURCE = "4cat"
_TEXT_FIELDS = ("body", "text", "full_text", "desc", "message", "content", "caption")
_TIME_FIELDS = ("timestamp", "created_at", "createTime", "create_time", "taken_at", "date")
_X_PLATFORMS = {"twitter.com", "x.com", "twitter", "x"}


def split_item(item: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(metadata, platform item) of a 4CAT or Zeeschuimer NDJSON line."""
    meta = item.get("__import_meta")
    if isinstance(meta, Mapping):
        return meta, {k: v for k, v in item.items() if k != "__import_meta"}
    data = item.get("data")
    if isinstance(data, Mapping) and ("source_platform" in item or "timestamp_collected" in item):
        return {k: v for k, v in item.items() if k != "data"}, data
    return {}, item


def parse_time(value: object) -> datetime | None:
    """Epoch seconds or milliseconds, ISO 8601, "YYYY-MM-DD HH:MM:SS" or RFC 2822 → UTC."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000.0
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
        try:
            return utc(email.utils.parsedate_to_datetime(value))
        except (TypeError, ValueError):
            return None
    return None


def _text(data: Mapping[str, Any]) -> str | None:
    for field in _TEXT_FIELDS:
        value = data.get(field)
        if isinstance(value, Mapping):
            value = value.get("text")  # Instagram: caption.text
        if isinstance(value, str):
            return html_to_text(value) if field == "content" else value
    return None


def _author(data: Mapping[str, Any]) -> str | None:
    for field in ("author", "user", "owner", "from"):
        value = data.get(field)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping):
            for key in ("username", "uniqueId", "screen_name", "handle", "name", "id"):
                if isinstance(value.get(key), str | int):
                    return str(value[key])
    return None


def _hashtags(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(tag.strip().lstrip("#") for tag in value.split(",") if tag.strip())
    if isinstance(value, list):
        return tuple(str(tag).lstrip("#") for tag in value if isinstance(tag, str | int))
    return ()


def _x_post_id(tweet_id: str) -> tuple[str, str]:
    native = native_id(f"x.com/{tweet_id}")
    return f"{SOURCE}:{native}", native


def _is_x(meta: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    platform = meta.get("source_platform")
    x_platform = isinstance(platform, str) and platform.lower() in _X_PLATFORMS
    return is_graphql_tweet(data) and (x_platform or platform is None)


def embedded_posts(item: Mapping[str, Any]) -> Iterator[Post | MappingError]:
    """The tweets an X item retweets or quotes, as posts (a MappingError for one that cannot
    be mapped); nothing for other items."""
    if not isinstance(item, Mapping):
        return
    meta, data = split_item(item)
    if not _is_x(meta, data):
        return
    post_id: PostId = _x_post_id
    for tweet in embedded(data):
        try:
            yield map_graphql_tweet(tweet, post_id, SOURCE)
        except MappingError as error:
            yield error


def map_4cat_item(item: Mapping[str, Any]) -> Post:
    if not isinstance(item, Mapping):
        raise MappingError("expected an item object")
    meta, data = split_item(item)
    visibility = data.get("visibility")
    if isinstance(visibility, str) and visibility not in PUBLIC_VISIBILITY:
        # A Mastodon status captured by 4CAT keeps the API's visibility.
        raise SkippedPayload(f"visibility {visibility}")
    if _is_x(meta, data):
        return map_graphql_tweet(data, _x_post_id, SOURCE)
    item_id = next(
        (data[k] for k in ("id", "id_str", "pk") if isinstance(data.get(k), str | int)), None
    )
    if item_id is None:
        item_id = meta.get("id")
    if item_id is None:
        raise MappingError("missing required field 'id'")
    text = _text(data)
    if text is None:
        raise MappingError("missing required field 'body' (or 'text')")
    created_at = None
    for field in _TIME_FIELDS:
        created_at = parse_time(data.get(field))
        if created_at is not None:
            break
    else:
        created_at = parse_time(meta.get("timestamp_collected"))
    if created_at is None:
        raise MappingError("missing required field 'timestamp'")
    platform = meta.get("source_platform")
    native = native_id(f"{platform or 'item'}/{item_id}")
    url = next(
        (data[k] for k in ("url", "link", "permalink") if isinstance(data.get(k), str)), None
    )
    lang = data.get("lang") or data.get("language")
    return Post(
        id=f"{SOURCE}:{native}",
        source=SOURCE,
        native_id=native,
        created_at=created_at,
        text=text,
        author=_author(data),
        url=url,
        lang_declared=declared_lang(lang),
        hashtags=_hashtags(data.get("hashtags")),
    )
