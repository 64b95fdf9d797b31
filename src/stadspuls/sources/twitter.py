"""X/Twitter API v2 tweet objects → Post (for imports of collections made elsewhere).

A tweet refers to its author, media and the tweets it retweets, quotes or replies to by key;
the `includes` of the API response that carried it resolve them (`includes.users`,
`includes.media`, `includes.tweets`). Collections flattened by twarc2 put the author object on
the tweet itself (`author`) and the referenced tweets inside `referenced_tweets`; both are read.

The API cuts a retweet's own text at 140 characters ("RT @name: …"); the full text is that of
the retweeted tweet (its `note_tweet.text` for a long one), so a retweet is stored with it.
`map_page` maps a whole response: every tweet on its own (one bad tweet costs one tweet, not the
page), and the referenced tweets of `includes.tweets` as posts too, which the retweets, quotes
and replies of the page point at.
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


def entity_values(entities: object, kind: str, field: str) -> tuple[str, ...]:
    """The `field` of each entity of `kind` ("urls", "hashtags", …) in a tweet's entities."""
    items = entities.get(kind) if isinstance(entities, Mapping) else None
    if not isinstance(items, list):
        return ()
    return tuple(
        str(item[field]) for item in items if isinstance(item, Mapping) and item.get(field)
    )


def _full_text(tweet: Mapping[str, Any]) -> str:
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, Mapping) else None
    if not isinstance(text, str):
        text = required(tweet, "text")
    if not isinstance(text, str):
        raise MappingError("field 'text' is not a string")
    return text


def _username(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> str | None:
    author = tweet.get("author")
    if not isinstance(author, Mapping):
        author = users.get(str(tweet.get("author_id")))
    username = author.get("username") if isinstance(author, Mapping) else None
    return username if isinstance(username, str) else None


def status_url(tweet_id: str, username: str | None) -> str:
    if username is not None:
        return f"https://x.com/{username}/status/{tweet_id}"
    return f"https://x.com/i/web/status/{tweet_id}"


def with_quote_link(links: tuple[str, ...], quoted_id: str, url: str) -> tuple[str, ...]:
    """`links` and the quoted tweet's `url`, unless a link to it is there already: the Post
    record has no quote field, so a quote points at the quoted tweet through a link (the quoted
    tweet itself is stored as a post when the collection holds it)."""
    if any(link.rstrip("/").endswith(f"/status/{quoted_id}") for link in links):
        return links
    return (*links, url)


def referenced(
    tweet: Mapping[str, Any], includes: Mapping[str, Any] | None
) -> Iterator[tuple[str, str, Mapping[str, Any] | None]]:
    """(type, id, the referenced tweet if the collection has it) of each tweet `tweet` refers
    to: from `includes.tweets`, or inline where twarc2's flatten put it."""
    tweets = _by_key(includes, "tweets", "id")
    for ref in _references(tweet.get("referenced_tweets")):
        ref_id = str(ref["id"])
        full = tweets.get(ref_id)
        if full is None and "text" in ref:
            full = ref
        yield str(ref.get("type")), ref_id, full


def map_tweet(tweet: Mapping[str, Any], includes: Mapping[str, Any] | None = None) -> Post:
    """Map one API v2 tweet object; `includes` is the `includes` of its response, if any."""
    if not isinstance(tweet, Mapping):
        raise MappingError("expected a tweet object")
    tweet_id = str(required(tweet, "id"))
    text = _full_text(tweet)
    created = required(tweet, "created_at")
    try:
        created_at = utc(datetime.fromisoformat(str(created)))
    except ValueError as error:
        raise MappingError(f"field 'created_at' is not an ISO 8601 time: {created!r}") from error
    users = _by_key(includes, "users", "id")
    username = _username(tweet, users)
    author = username if username is not None else tweet.get("author_id")
    entities = tweet.get("entities")
    reply_to = repost_of = None
    quoted: list[tuple[str, str]] = []  # (id, url)
    for kind, ref_id, original in referenced(tweet, includes):
        if kind == "replied_to":
            reply_to = f"{SOURCE}:{ref_id}"
        elif kind == "quoted":
            ref_user = _username(original, users) if original is not None else None
            quoted.append((ref_id, status_url(ref_id, ref_user)))
        elif kind == "retweeted":
            repost_of = f"{SOURCE}:{ref_id}"
            if original is not None:
                ref_user = _username(original, users)
                text = _full_text(original)
                text = f"RT @{ref_user}: {text}" if ref_user is not None else text
                entities = original.get("entities")
    media_by_key = _by_key(includes, "media", "media_key")
    media: list[str] = []
    attachments = tweet.get("attachments")
    for key in attachments.get("media_keys") or () if isinstance(attachments, Mapping) else ():
        item = media_by_key.get(str(key))
        url = (item.get("url") or item.get("preview_image_url")) if item else None
        if isinstance(url, str):
            media.append(url)
    links = entity_values(entities, "urls", "expanded_url")
    for ref_id, url in quoted:
        links = with_quote_link(links, ref_id, url)
    lat, lon = _coordinates(tweet.get("geo"))
    return Post(
        id=f"{SOURCE}:{tweet_id}",
        source=SOURCE,
        native_id=tweet_id,
        created_at=created_at,
        text=text,
        author=str(author) if author is not None else None,
        url=status_url(tweet_id, username),
        lang_declared=declared_lang(tweet.get("lang")),
        hashtags=entity_values(entities, "hashtags", "tag"),
        mentions=entity_values(entities, "mentions", "username"),
        links=links,
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


def map_page(payload: Mapping[str, Any]) -> Iterator[Post | MappingError]:
    """The posts of one line of a collection (an API response page or a bare tweet), each tweet
    mapped on its own: a tweet that cannot be mapped is yielded as its MappingError. The tweets
    the page refers to (those of `includes.tweets`, and those inlined by twarc2's flatten)
    follow the page's own tweets, once each."""
    if not isinstance(payload, Mapping):
        raise MappingError("a line is not an object")
    seen: set[str] = set()
    others: list[tuple[Mapping[str, Any], Any]] = []
    for tweet, includes in iter_response(payload):
        if isinstance(tweet, Mapping) and tweet.get("id") is not None:
            seen.add(str(tweet["id"]))
            others += [(t, includes) for _, _, t in referenced(tweet, includes) if t is not None]
        yield _mapped(tweet, includes)
    includes = payload.get("includes")
    if isinstance(includes, Mapping):
        # also those referenced only by other referenced tweets (the parent of a quoted reply)
        others += [(t, includes) for t in _by_key(includes, "tweets", "id").values()]
    for tweet, includes in others:
        tweet_id = str(tweet.get("id"))
        if tweet_id not in seen:
            seen.add(tweet_id)
            yield _mapped(tweet, includes)


def _mapped(tweet: Any, includes: Any) -> Post | MappingError:
    try:
        return map_tweet(tweet, includes)
    except MappingError as error:
        tweet_id = tweet.get("id") if isinstance(tweet, Mapping) else None
        return MappingError(f"tweet {tweet_id}: {error}") if tweet_id is not None else error


def iter_response(payload: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Any]]:
    """(tweet, includes) pairs of one line of a collection: an API response or a bare tweet."""
    data = payload.get("data")
    if isinstance(data, list | Mapping) and "text" not in payload:
        includes = payload.get("includes")
        for tweet in data if isinstance(data, list) else [data]:
            yield tweet, includes
    else:
        yield payload, None
