"""What each channel will post: the text per target (its variant, else the body, with the link),
counted as the channel counts it, split into a numbered thread when it is longer than one post,
and the link card. Pure functions: the targets' `preview` and `send` both use them, so what the
preview shows is what is sent.

Counting. Mastodon counts characters, but every http(s) URL as 23 whatever its length, and a
mention @user@domain as @user; its limit is 500 unless the instance says otherwise. Bluesky
counts graphemes (an emoji with a skin tone or a flag is one), at most 300 per post.

Bluesky shows a link short, as its app does ("stad.nl/nieuws/12-brand..."), with the whole
URL in the post's link facet: the short form is what is counted and shown.

Threads. A text longer than one post becomes a numbered thread ("(1/3)"), each part a reply to
the one before: what users expect from a long message, rather than a refusal. More than
`MAX_PARTS` parts does not fit and is refused at submission with the preview's warning.

Link cards. The link is the publication's own `link`, else our news page when "news" is a
target. Mastodon makes the card itself from the page's metadata; Bluesky shows the card we
send (app.bsky.embed.external) with the publication's title and the start of its text, but
only without images (a post carries one embed), so with images the link stays in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from stadspuls.channels.split import MAX_PARTS, TooLong, graphemes, split_text
from stadspuls.publish.records import Preview, Publication

MASTODON_LIMIT = 500  # characters, the default of a Mastodon server
MASTODON_URL_LENGTH = 23  # every link counts this much, however long (Mastodon's rule)
MASTODON_MEDIA = 4  # attachments per status
BLUESKY_LIMIT = 300  # graphemes per post
BLUESKY_IMAGES = 4
CARD_DESCRIPTION = 200  # characters of the text shown under a card's title

# What a person should know about a preview: English source text, shown through the web's
# catalogue (Dutch in web/locale/nl/LC_MESSAGES/publish_channels.po). No numbers inside, so
# each is one message to translate; the parts themselves show how many posts a thread has.
NO_TEXT = "There is no text to post."
TOO_LONG = f"Too long: even split over {MAX_PARTS} posts this text does not fit. Make it shorter."
THREAD = "Longer than one post: it becomes a thread, each post a reply to the one before."
TOO_MANY_IMAGES = "At most 4 images per post on this channel."
NO_ALT = "Every image needs a description (alt text)."
MASTODON_CARD = "Mastodon makes the link card itself from the page's metadata."
BLUESKY_NO_CARD = "With images Bluesky shows no link card; the link stays in the text."
WARNINGS = (NO_TEXT, TOO_LONG, THREAD, TOO_MANY_IMAGES, NO_ALT, MASTODON_CARD, BLUESKY_NO_CARD)

# A URL as Mastodon and Bluesky recognise one in text: up to whitespace, without the trailing
# punctuation that ends a sentence around it.
URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]}'\u2019]")
_MENTION = re.compile(r"(?<![\w@])(@[A-Za-z0-9_]+)@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def mastodon_length(text: str) -> int:
    """The length as Mastodon counts it: URLs 23 each, remote mentions without the domain."""
    text = URL.sub("x" * MASTODON_URL_LENGTH, text)
    return len(_MENTION.sub(r"\1", text))


def bluesky_length(text: str) -> int:
    return graphemes(text)


def text_for(publication: Publication, target: str, link: str | None) -> str:
    """The target's variant (else the body), with the link at the end unless it is in it."""
    text = (publication.variants.get(target) or publication.body).strip()
    if link and link not in text:
        text = f"{text}\n\n{link}" if text else link
    return text


def card_link(publication: Publication, news_url: str | None) -> str | None:
    """The link a post carries: the publication's own, else our news page when it goes there."""
    if publication.link:
        return publication.link
    return news_url if "news" in publication.targets else None


def card_description(publication: Publication) -> str:
    """The start of the text, cut at a word, for under the card's title."""
    text = " ".join(publication.body.split())
    if len(text) <= CARD_DESCRIPTION:
        return text
    cut = text[: CARD_DESCRIPTION - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > CARD_DESCRIPTION // 2 else cut).rstrip(" ,;:") + "…"


def thread(
    target: str,
    text: str,
    *,
    limit: int,
    count: Callable[[str], int],
    card_url: str | None = None,
    card_title: str | None = None,
    card_desc: str | None = None,
    warnings: tuple[str, ...] = (),
    fits: bool = True,
) -> Preview:
    """The text in parts that each fit `limit`, with what a person should know about it."""
    notes = list(warnings)
    if not text:
        notes.append(NO_TEXT)
        return Preview(
            target=target,
            parts=(),
            length=0,
            limit=limit,
            fits=False,
            warnings=tuple(notes),
        )
    try:
        parts = tuple(split_text(text, limit=limit, count=count))
    except TooLong:
        parts = (text,)
        fits = False
        notes.append(TOO_LONG)
    if len(parts) > 1:
        notes.append(THREAD)
    return Preview(
        target=target,
        parts=parts,
        length=max(count(part) for part in parts),
        limit=limit,
        fits=fits,
        card_title=card_title,
        card_description=card_desc,
        card_url=card_url,
        warnings=tuple(notes),
    )


def _media_notes(publication: Publication, most: int) -> tuple[list[str], bool]:
    notes: list[str] = []
    fits = True
    if len(publication.media) > most:
        notes.append(TOO_MANY_IMAGES)
        fits = False
    if any(not item.alt.strip() for item in publication.media):
        notes.append(NO_ALT)
        fits = False
    return notes, fits


def mastodon_preview(
    publication: Publication, *, news_url: str | None, limit: int = MASTODON_LIMIT
) -> Preview:
    link = card_link(publication, news_url)
    notes, fits = _media_notes(publication, MASTODON_MEDIA)
    # Mastodon shows a card only for a status without media.
    card = link is not None and not publication.media
    if card:
        notes.append(MASTODON_CARD)
    return thread(
        "mastodon",
        text_for(publication, "mastodon", link),
        limit=limit,
        count=mastodon_length,
        card_url=link if card else None,
        card_title=publication.title if card else None,
        card_desc=card_description(publication) if card else None,
        warnings=tuple(notes),
        fits=fits,
    )


def short_link(url: str) -> str:
    """A link as Bluesky's app shows it: without the scheme, a path longer than 15 characters
    cut to 13 and "..." (social-app's toShortUrl). The post's facet carries the whole URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    path = ("" if parts.path == "/" else parts.path) + (f"?{parts.query}" if parts.query else "")
    path += f"#{parts.fragment}" if parts.fragment else ""
    return parts.netloc + (path[:13] + "..." if len(path) > 15 else path)


def shorten_links(text: str) -> tuple[str, dict[str, str]]:
    """`text` with its links shown short, and which short form stands for which link (a link
    whose short form would stand for two links stays whole)."""
    links: dict[str, str] = {}
    for match in URL.finditer(text):
        url = match.group()
        links.setdefault(short_link(url), url)
    taken = {short: url for short, url in links.items() if short != url}

    def shown(match: re.Match[str]) -> str:
        short = short_link(match.group())
        return short if taken.get(short) == match.group() else match.group()

    return URL.sub(shown, text), taken


def bluesky_text(publication: Publication, link: str | None) -> tuple[str, dict[str, str]]:
    return shorten_links(text_for(publication, "bluesky", link))


def bluesky_preview(publication: Publication, *, news_url: str | None) -> Preview:
    link = card_link(publication, news_url)
    notes, fits = _media_notes(publication, BLUESKY_IMAGES)
    card = link is not None and not publication.media
    if link and publication.media:
        notes.append(BLUESKY_NO_CARD)
    return thread(
        "bluesky",
        bluesky_text(publication, link)[0],
        limit=BLUESKY_LIMIT,
        count=bluesky_length,
        card_url=link if card else None,
        card_title=publication.title if card else None,
        card_desc=card_description(publication) if card else None,
        warnings=tuple(notes),
        fits=fits,
    )


def whole_preview(
    target: str, publication: Publication, *, link: str | None, text: str | None = None
) -> Preview:
    """A target without a length limit (the news page, a webhook): the text in one part."""
    body = text if text is not None else text_for(publication, target, None)
    notes, fits = _media_notes(publication, len(publication.media))
    if not body.strip():
        notes.append(NO_TEXT)
        fits = False
    return Preview(
        target=target,
        parts=(body,) if body else (),
        length=len(body),
        limit=None,
        fits=fits,
        card_title=publication.title if link else None,
        card_description=card_description(publication) if link else None,
        card_url=link,
        warnings=tuple(notes),
    )
