"""X's web GraphQL tweet objects (as Zeeschuimer captures them, and 4CAT exports them) → Post.

The tweet's own fields sit under `legacy` (`full_text`, `created_at`, `entities`); its author
under `core.user_results.result` (`legacy.screen_name`, since 2025 also `core.screen_name`); a
long tweet's whole text under `note_tweet.note_tweet_results.result.text`, `full_text` being
cut. A retweet embeds the retweeted tweet (`legacy.retweeted_status_result`), whose text is the
full one, and a quote the quoted tweet (`quoted_status_result`); both are sometimes wrapped once
more (`TweetWithVisibilityResults`: `result.tweet`). The mapping follows 4CAT's own
(datasources/twitter-import/search_twitter.py), including its "adaptive" shape of older
captures (the tweet under `legacy`, its author under `user`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from stadspuls.records import Post, utc
from stadspuls.sources.base import MappingError, declared_lang, required
from stadspuls.sources.twitter import entity_values, status_url, with_quote_link

# (tweet id) → (post id, native id): the caller decides under which source the tweets are kept.
PostId = Callable[[str], tuple[str, str]]


def is_graphql_tweet(data: Mapping[str, Any]) -> bool:
    tweet = unwrap(data)
    return tweet is not None and ("rest_id" in tweet or tweet.get("type") == "adaptive")


def unwrap(result: object) -> Mapping[str, Any] | None:
    """A tweet result as it is, or the tweet inside a visibility wrapper; None for tombstones
    and unavailable tweets."""
    if not isinstance(result, Mapping):
        return None
    inner = result.get("tweet")
    if isinstance(inner, Mapping):
        result = inner
    return result if isinstance(result.get("legacy"), Mapping) else None


def _nested(obj: object, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def screen_name(tweet: Mapping[str, Any]) -> str | None:
    user = _nested(tweet, "core", "user_results", "result")
    for name in (
        _nested(user, "legacy", "screen_name"),
        _nested(user, "core", "screen_name"),
        _nested(tweet, "user", "screen_name"),  # the "adaptive" shape
    ):
        if isinstance(name, str) and name:
            return name
    return None


def tweet_id(tweet: Mapping[str, Any]) -> str:
    for value in (tweet.get("rest_id"), _nested(tweet, "legacy", "id_str"), tweet.get("id")):
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    raise MappingError("missing required field 'id' (rest_id)")


def full_text(tweet: Mapping[str, Any]) -> str:
    note = _nested(tweet, "note_tweet", "note_tweet_results", "result", "text")
    if isinstance(note, str) and note:
        return note
    text = _nested(tweet, "legacy", "full_text")
    if not isinstance(text, str):
        raise MappingError("missing required field 'body' (legacy.full_text)")
    return text


def _entities(tweet: Mapping[str, Any]) -> Any:
    # a long tweet's entities (its hashtags past the cut, too) are those of its note
    note = _nested(tweet, "note_tweet", "note_tweet_results", "result")
    if isinstance(note, Mapping) and isinstance(note.get("entity_set"), Mapping):
        return note["entity_set"]
    return _nested(tweet, "legacy", "entities")


def embedded(tweet: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The retweeted and the quoted tweet that `tweet` carries, if any."""
    tweet = unwrap(tweet) or tweet
    for result in (
        _nested(tweet, "legacy", "retweeted_status_result", "result"),
        _nested(tweet, "quoted_status_result", "result"),
    ):
        inner = unwrap(result)
        if inner is not None:
            yield inner


def _created_at(legacy: Mapping[str, Any]) -> datetime:
    value = required(legacy, "created_at", "legacy.")
    try:
        return utc(datetime.strptime(str(value), "%a %b %d %H:%M:%S %z %Y"))
    except ValueError as error:
        raise MappingError(f"field 'legacy.created_at' is not a time: {value!r}") from error


def map_graphql_tweet(tweet: Mapping[str, Any], post_id: PostId, source: str) -> Post:
    if not isinstance(tweet, Mapping):
        raise MappingError("expected a tweet object")
    tweet = unwrap(tweet) or tweet
    legacy = required(tweet, "legacy")
    tid = tweet_id(tweet)
    text = full_text(tweet)
    name = screen_name(tweet)
    entities = _entities(tweet)
    media_source = legacy.get("extended_entities") or legacy.get("entities")
    repost_of = None
    retweet = unwrap(_nested(legacy, "retweeted_status_result", "result"))
    if retweet is not None:
        # the retweet's own full_text is cut ("RT @name: …"); 4CAT rebuilds it the same way
        original_name = screen_name(retweet)
        text = full_text(retweet)
        text = f"RT @{original_name}: {text}" if original_name else text
        repost_of = post_id(tweet_id(retweet))[0]
        entities = _entities(retweet)
        media_source = _nested(retweet, "legacy", "extended_entities") or _nested(
            retweet, "legacy", "entities"
        )
    links = entity_values(entities, "urls", "expanded_url")
    quoted = unwrap(_nested(tweet, "quoted_status_result", "result"))
    if quoted is not None:
        quoted_id = tweet_id(quoted)
        links = with_quote_link(links, quoted_id, status_url(quoted_id, screen_name(quoted)))
    parent = legacy.get("in_reply_to_status_id_str")
    lat = lon = None
    point = _nested(legacy, "coordinates", "coordinates")
    if isinstance(point, list) and len(point) == 2:
        lon, lat = float(point[0]), float(point[1])  # GeoJSON order
    pid, native = post_id(tid)
    return Post(
        id=pid,
        source=source,
        native_id=native,
        created_at=_created_at(legacy),
        text=text,
        author=name or (str(legacy["user_id_str"]) if legacy.get("user_id_str") else None),
        url=status_url(tid, name),
        lang_declared=declared_lang(legacy.get("lang")),
        hashtags=entity_values(entities, "hashtags", "text"),
        mentions=entity_values(entities, "user_mentions", "screen_name"),
        links=links,
        media=entity_values(media_source, "media", "media_url_https"),
        lat=lat,
        lon=lon,
        reply_to=post_id(str(parent))[0] if parent else None,
        repost_of=repost_of,
    )
