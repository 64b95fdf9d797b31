"""Text normalisation and entity extraction: the first enricher every post passes."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence

import msgspec

from stadspuls.records import Post

# A hashtag starts after a non-word character; "#1" alone is not a tag (Twitter's rule too).
HASHTAG = re.compile(r"(?<![\w&/#])#(\w*[^\W\d]\w*)")
# Handles: Bluesky "name.bsky.social", Mastodon "user@instance.tld", X "user". The look-behind
# keeps e-mail addresses ("mail@example.org") and profile URLs out; ".@name" (a reply made
# public on X) is a mention.
MENTION = re.compile(
    r"(?<![\w@/])@([A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
    r"(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)"
)
LINK = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?)]}'\""
MEDIA_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp4", ".mov", ".webm", ".heic")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*(?:\n\s*)+")


def normalise_text(text: str) -> str:
    """NFC, HTML entities decoded, runs of spaces collapsed, at most one blank line kept."""
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = _NEWLINES.sub("\n\n", text)
        text = "\n".join(line.strip() for line in text.split("\n"))
    return text.strip()


def extract_links(text: str) -> list[str]:
    return [m.group(0).rstrip(_TRAILING_PUNCT) for m in LINK.finditer(text)]


def extract_hashtags(text: str) -> list[str]:
    return [m.group(1).lower() for m in HASHTAG.finditer(text)]


def extract_mentions(text: str) -> list[str]:
    return [m.group(1).lower() for m in MENTION.finditer(text)]


def is_media_url(url: str) -> bool:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return path.endswith(MEDIA_SUFFIXES)


def _union(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


class Normaliser:
    """Normalises text and merges the entities found in it with those the platform gave."""

    name = "normalise"

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        out = []
        for post in posts:
            text = normalise_text(post.text)
            links = extract_links(text) if "http" in text else []
            hashtags = extract_hashtags(text) if "#" in text else []
            mentions = extract_mentions(text) if "@" in text else []
            media = [link for link in links if is_media_url(link)]
            out.append(
                msgspec.structs.replace(
                    post,
                    text=text,
                    hashtags=_union((h.lower() for h in post.hashtags), hashtags),
                    mentions=_union((m.lower().lstrip("@") for m in post.mentions), mentions),
                    links=_union(post.links, links),
                    media=_union(post.media, media),
                )
            )
        return out
