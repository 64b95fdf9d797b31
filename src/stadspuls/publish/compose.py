"""What a publication must be before it may be saved: checked fields, its news page address
(slug) and the preview of the news page, which needs no channel of its own.

Every refusal is a `PublishError` naming the form field, so that a form can put the message
beside the field and the API can say which one it was.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

import msgspec

from stadspuls.publish.errors import PublishError
from stadspuls.publish.records import MediaItem, Preview, Publication
from stadspuls.publish.targets import PublishTarget
from stadspuls.settings import Settings

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_LINK = 1000
MAX_ALT = 1500  # Mastodon's limit for an image description
MAX_MEDIA = 4  # Mastodon and Bluesky both take at most four images
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
LANGUAGES = ("nl", "en")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LINK = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_SLUG_LENGTH = 80
MAX_AHEAD = timedelta(days=3653)  # ten years: far enough for any plan, and storable


def public_base(settings: Settings) -> str:
    """Where the public reaches this server (links to the news page start here)."""
    return (settings.inbox.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def news_url(settings: Settings, publication: Publication) -> str | None:
    if publication.id is None:
        return None
    return f"{public_base(settings)}/nieuws/{publication.id}-{publication.slug or 'bericht'}"


def slugify(title: str) -> str:
    """ "Brand in Utrecht: sluit ramen & deuren" -> "brand-in-utrecht-sluit-ramen-deuren"."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(slug) > _SLUG_LENGTH:
        slug = slug[:_SLUG_LENGTH].rsplit("-", 1)[0]
    return slug or "bericht"


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def normalise(draft: Publication) -> Publication:
    """The draft with its texts trimmed and its targets without repeats (in the given order)."""
    variants = {target: _clean(text) for target, text in draft.variants.items() if _clean(text)}
    targets = tuple(dict.fromkeys(target.strip() for target in draft.targets if target.strip()))
    media = tuple(msgspec.structs.replace(item, alt=item.alt.strip()) for item in draft.media)
    link = draft.link.strip() if draft.link and draft.link.strip() else None
    return msgspec.structs.replace(
        draft, title=_clean(draft.title), body=_clean(draft.body), variants=variants,
        targets=targets, media=media, link=link,
    )  # fmt: skip


def _check_media(media: tuple[MediaItem, ...]) -> None:
    if len(media) > MAX_MEDIA:
        raise PublishError(f"at most {MAX_MEDIA} images", field="media")
    for number, item in enumerate(media, 1):
        if not _SHA256.match(item.sha256):
            raise PublishError(f"image {number} is not a stored file", field="media")
        if item.content_type not in IMAGE_TYPES:
            raise PublishError(
                f"image {number}: {item.content_type} is not one of {', '.join(IMAGE_TYPES)}",
                field="media",
            )
        if not item.alt:
            raise PublishError(
                f"image {number} needs a description (alt text) for people who cannot see it",
                field="media",
            )
        if len(item.alt) > MAX_ALT:
            raise PublishError(
                f"the description of image {number} is longer than {MAX_ALT} characters",
                field="media",
            )


def check(draft: Publication, *, known_targets: Collection[str], now: datetime) -> None:
    """Raise PublishError for a draft that cannot be published as it is."""
    if not draft.title:
        raise PublishError("write a title", field="title")
    if len(draft.title) > MAX_TITLE:
        raise PublishError(f"a title is at most {MAX_TITLE} characters", field="title")
    if not draft.body:
        raise PublishError("write the text", field="body")
    if len(draft.body) > MAX_BODY:
        raise PublishError(f"a text is at most {MAX_BODY} characters", field="body")
    if not draft.targets:
        raise PublishError("choose at least one channel", field="targets")
    for target in draft.targets:
        if target not in known_targets:
            raise PublishError(
                f"unknown channel {target!r}; configured: {', '.join(sorted(known_targets))}",
                field="targets",
            )
    for target, text in draft.variants.items():
        if target not in draft.targets:
            raise PublishError(f"a text for {target!r}, which is not chosen", field="variants")
        if len(text) > MAX_BODY:
            raise PublishError(f"a text is at most {MAX_BODY} characters", field="variants")
    if draft.link is not None and (len(draft.link) > MAX_LINK or not _LINK.match(draft.link)):
        raise PublishError("the link must be a web address (https://…)", field="link")
    if draft.lang not in LANGUAGES:
        raise PublishError(f"language must be one of {', '.join(LANGUAGES)}", field="lang")
    _check_media(draft.media)
    if draft.scheduled_at is not None:
        if draft.scheduled_at.tzinfo is None:
            raise PublishError("a time needs a time zone", field="scheduled_at")
        if draft.scheduled_at < now:
            raise PublishError("the scheduled time has passed", field="scheduled_at")
        if draft.scheduled_at > now + MAX_AHEAD:
            raise PublishError("schedule at most ten years ahead", field="scheduled_at")


def news_preview(settings: Settings, publication: Publication) -> Preview:
    """The news page shows title and full text; no limit."""
    text = publication.variants.get("news") or publication.body
    return Preview(
        target="news",
        parts=(text,),
        length=len(text),
        limit=None,
        fits=True,
        card_title=publication.title,
        card_description=text[:200],
        card_url=news_url(settings, publication),
    )


def previews(
    settings: Settings, targets: Mapping[str, PublishTarget], publication: Publication
) -> list[Preview]:
    """What each chosen target will show, in the order they were chosen."""
    public_url = news_url(settings, publication)
    found = []
    for name in publication.targets:
        target = targets.get(name)
        if target is not None:
            found.append(target.preview(publication, public_url=public_url))
        elif name == "news":
            found.append(news_preview(settings, publication))
    return found


def check_fits(previews_: list[Preview]) -> None:
    """A text too long for a target's limit is refused, naming the target."""
    for preview in previews_:
        if not preview.fits:
            limit = f" of {preview.limit}" if preview.limit is not None else ""
            raise PublishError(
                f"the text is too long for {preview.target}: {preview.length} characters,"
                f" over the limit{limit}; shorten it or write a text for {preview.target}",
                field=f"variants.{preview.target}",
            )
