"""The compose form of a publication, both ways: a `Publication` from what was posted (with the
errors the form finds itself, each by its field) and the form's values from a publication.

The schedule is typed in Amsterdam time (the staff's clock) and stored in UTC. Images already
taken into the media vault travel in the form as hidden fields (`media_sha256` with its type,
size and alt text, in order), so a form shown again after an error keeps them without a second
upload; a new image comes as a file with its own alt text field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import msgspec
from starlette.datastructures import FormData

from stadspuls.publish.records import MediaItem, Publication, PublishTemplate
from stadspuls.web.routes.pages import LOCAL_ZONE

# The longest field values a form takes; the service has the channels' own limits.
MAX_TITLE = 300
MAX_TEXT = 20_000
MAX_ALT = 1_500
MAX_LINK = 2_000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


class FieldProblem(msgspec.Struct, frozen=True):
    field: str
    message: str  # English source text, translated on the page


class Composed(msgspec.Struct, frozen=True, kw_only=True):
    """What the form said, as a publication, and what was wrong with it."""

    publication: Publication
    problems: tuple[FieldProblem, ...] = ()
    new_alt: str = ""  # the alt text typed for an image being uploaded now


def text_of(form: FormData | Mapping[str, str], key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def texts_of(form: FormData, key: str) -> list[str]:
    return [v for v in form.getlist(key) if isinstance(v, str)]


def compose(
    form: FormData, *, available: Sequence[str], base: Publication | None = None
) -> Composed:
    """The publication the form describes (over `base` when editing one)."""
    problems: list[FieldProblem] = []
    title = text_of(form, "title")
    body = text_of(form, "body")
    if len(title) > MAX_TITLE:
        problems.append(FieldProblem("title", "The title is too long."))
    if len(body) > MAX_TEXT:
        problems.append(FieldProblem("body", "That text is too long."))
    targets = tuple(t for t in available if t in set(texts_of(form, "targets")))
    unknown = set(texts_of(form, "targets")) - set(available)
    if unknown:
        problems.append(FieldProblem("targets", "That channel is not available."))
    variants = {}
    for target in available:
        variant = text_of(form, f"variant_{target}")
        if variant:
            variants[target] = variant[:MAX_TEXT]
    link = text_of(form, "link") or None
    if link is not None and (len(link) > MAX_LINK or not link.startswith(("https://", "http://"))):
        problems.append(FieldProblem("link", "A link starts with https:// (or http://)."))
    scheduled_at, problem = schedule_of(text_of(form, "date"), text_of(form, "time"))
    if problem is not None:
        problems.append(problem)
    media, media_problems = kept_media(form)
    problems.extend(media_problems)
    lang = text_of(form, "lang")
    start = base or Publication(title="", body="")
    publication = msgspec.structs.replace(
        start,
        title=title[:MAX_TITLE],
        body=body[:MAX_TEXT],
        variants=variants,
        link=link,
        media=media,
        targets=targets,
        lang=lang if lang in ("nl", "en") else "nl",
        monitor_id=_number(text_of(form, "monitor_id")),
        alert_id=_number(text_of(form, "alert_id")),
        template=text_of(form, "template") or None,
        scheduled_at=scheduled_at,
    )
    return Composed(
        publication=publication,
        problems=tuple(problems),
        new_alt=text_of(form, "image_alt")[:MAX_ALT],
    )


def _number(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) > 0 else None


def schedule_of(date: str, time: str) -> tuple[datetime | None, FieldProblem | None]:
    """Amsterdam's date and time as UTC; both empty: as soon as it is approved."""
    if not date and not time:
        return None, None
    if not date or not time:
        return None, FieldProblem("schedule", "Give both a date and a time, or neither.")
    try:
        local = datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        return None, FieldProblem("schedule", "That is not a date and time.")
    if local.tzinfo is not None:
        return None, FieldProblem("schedule", "That is not a date and time.")
    return local.replace(tzinfo=LOCAL_ZONE).astimezone(UTC), None


def kept_media(form: FormData) -> tuple[tuple[MediaItem, ...], list[FieldProblem]]:
    """The images already in the vault, as the hidden fields list them (a removed one is not
    sent), each with its alt text."""
    shas = texts_of(form, "media_sha256")
    kinds = texts_of(form, "media_type")
    alts = texts_of(form, "media_alt")
    sizes = texts_of(form, "media_size")
    removed = set(texts_of(form, "media_remove"))
    items: list[MediaItem] = []
    problems: list[FieldProblem] = []
    for index, sha in enumerate(shas):
        if sha in removed or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            continue
        kind = kinds[index] if index < len(kinds) else ""
        alt = (alts[index] if index < len(alts) else "").strip()[:MAX_ALT]
        width, _, height = (sizes[index] if index < len(sizes) else "").partition("x")
        if kind not in IMAGE_TYPES:
            continue
        if not alt:
            problems.append(FieldProblem(f"media_alt_{index}", "Describe the image (alt text)."))
        items.append(
            MediaItem(
                sha256=sha,
                content_type=kind,
                alt=alt,
                width=int(width) if width.isdigit() else None,
                height=int(height) if height.isdigit() else None,
            )
        )
    return tuple(items), problems


def values_of(publication: Publication) -> dict[str, object]:
    """The form's fields for a publication (to edit it, or to show it again)."""
    local = publication.scheduled_at.astimezone(LOCAL_ZONE) if publication.scheduled_at else None
    return {
        "title": publication.title,
        "body": publication.body,
        "variants": dict(publication.variants),
        "link": publication.link or "",
        "media": list(publication.media),
        "targets": list(publication.targets),
        "lang": publication.lang,
        "monitor_id": publication.monitor_id or "",
        "alert_id": publication.alert_id or "",
        "template": publication.template or "",
        "date": local.strftime("%Y-%m-%d") if local else "",
        "time": local.strftime("%H:%M") if local else "",
    }


def from_template(template: PublishTemplate, available: Sequence[str]) -> Publication:
    """A new publication filled from a template (its placeholders stay for the author)."""
    targets = tuple(t for t in ("news",) if t in available)
    return Publication(
        title=template.title,
        body=template.body,
        lang=template.lang,
        template=template.name,
        targets=targets,
    )
