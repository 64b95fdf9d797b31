"""The public report form as data: what a citizen typed (kept whole, to show again when something
is wrong), what is wrong with it (each error names its field, so the summary at the top can link
to it), and the `InboundMessage` it becomes. No I/O: the route reads the request and the files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from stadspuls.cases.categories import CATEGORY_SLUGS
from stadspuls.cases.records import (
    CASE_KINDS,
    AcceptedMedia,
    Call,
    CallQuestion,
    Contact,
    InboundMessage,
)

# The form's times are what the citizen's clock said: Dutch local time.
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")
MAX_TEXT = 5000
MAX_ANSWER = 2000
MAX_ADDRESS = 300
MAX_NAME = 200
MAX_EMAIL = 254  # RFC 5321's limit on a forward path
# A phone's clock may run a little ahead of ours.
FUTURE_SLACK = timedelta(minutes=10)
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
SUBMISSION = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Not a single control character besides line breaks and tabs in what we store.
NO_CONSENT = "You gave contact details or photos: tick that you agree, or leave them out."
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    field: str  # the id of the input it is about (the summary links to "#<field>")
    message: str  # English source text, translated by the page's catalogue
    params: dict[str, str | int] = {}
    # A file's own name, shown beside a refused file's reason (already in the reader's language).
    detail: str = ""


class ReportForm(msgspec.Struct, kw_only=True):
    """The fields as typed (strings), so that a form shown again holds exactly what was sent."""

    submission: str = ""
    kind: str = "question"
    category: str = ""
    text: str = ""
    address: str = ""
    lat: str = ""
    lon: str = ""
    place: str = ""  # the municipality picked on the map (shown beside the point)
    occurred: str = ""
    email: str = ""
    name: str = ""
    consent: bool = False
    answers: dict[str, str] = {}


def clean(value: str, limit: int | None = None) -> str:
    text = CONTROL.sub("", value.replace("\r\n", "\n")).strip()
    # Cut a little past the limit so that the length check still sees it was too long.
    return text if limit is None else text[: limit + 1]


def local_input(moment: datetime) -> str:
    """A time as an <input type=datetime-local> value, in Dutch local time."""
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")


def parse_local(value: str) -> datetime | None:
    """A datetime-local value as UTC; None when it is not one."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_ZONE)
    return parsed.astimezone(UTC)


def read_form(fields: Mapping[str, str], call: Call | None = None) -> ReportForm:
    answers = {}
    for question in call.questions if call is not None else ():
        if question.kind != "photo":
            answers[question.key] = clean(fields.get(f"q_{question.key}", ""), MAX_ANSWER)
    return ReportForm(
        submission=fields.get("submission", "")[:64],
        kind=fields.get("kind", "tip" if call is not None else "question"),
        category=fields.get("category", ""),
        text=clean(fields.get("text", ""), MAX_TEXT),
        address=clean(fields.get("address", ""), MAX_ADDRESS),
        lat=fields.get("lat", "").strip()[:32],
        lon=fields.get("lon", "").strip()[:32],
        place=clean(fields.get("place", ""), 100),
        occurred=fields.get("occurred", "").strip()[:32],
        email=clean(fields.get("email", ""), MAX_EMAIL),
        name=clean(fields.get("name", ""), MAX_NAME),
        consent=fields.get("consent") in ("1", "on", "yes"),
        answers=answers,
    )


def point(form: ReportForm) -> tuple[float, float] | None:
    """The point picked on the map or found by the phone; None when none (or not a point)."""
    if not form.lat or not form.lon:
        return None
    try:
        lat, lon = float(form.lat), float(form.lon)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 6), round(lon, 6)


def _too_long(field: str, value: str, limit: int) -> FieldError | None:
    if len(value) > limit:
        return FieldError(
            field=field, message="Keep this under %(limit)s characters.", params={"limit": limit}
        )
    return None


def check(
    form: ReportForm, *, has_files: bool, call: Call | None, now: datetime
) -> list[FieldError]:
    """What is wrong with the form, in the order of its fields."""
    errors: list[FieldError] = []
    if form.kind not in CASE_KINDS:
        errors.append(FieldError(field="kind-question", message="Choose a question or a tip."))
    if form.category and form.category not in CATEGORY_SLUGS:
        errors.append(FieldError(field="category", message="Choose one of the categories."))
    if not form.text:
        errors.append(FieldError(field="text", message="Tell us what it is about."))
    errors += [e for e in [_too_long("text", form.text, MAX_TEXT)] if e]
    for question in call.questions if call is not None else ():
        errors += _check_answer(question, form.answers.get(question.key, ""), has_files)
    errors += [e for e in [_too_long("address", form.address, MAX_ADDRESS)] if e]
    if (form.lat or form.lon) and point(form) is None:
        errors.append(FieldError(field="address", message="The point on the map is not valid."))
    if form.occurred:
        occurred = parse_local(form.occurred)
        if occurred is None:
            errors.append(FieldError(field="occurred", message="Give a date and a time."))
        elif occurred > now + FUTURE_SLACK:
            errors.append(FieldError(field="occurred", message="This time is in the future."))
    if form.email and (len(form.email) > MAX_EMAIL or not EMAIL.match(form.email)):
        errors.append(
            FieldError(field="email", message="This is not an e-mail address (name@example.nl).")
        )
    errors += [e for e in [_too_long("name", form.name, MAX_NAME)] if e]
    if (form.email or form.name or has_files) and not form.consent:
        errors.append(FieldError(field="consent", message=NO_CONSENT))
    return errors


def _check_answer(question: CallQuestion, answer: str, has_files: bool) -> list[FieldError]:
    field = f"q_{question.key}"
    if question.kind == "photo":
        if question.required and not has_files:
            return [FieldError(field=field, message="Add at least one photo or video.")]
        return []
    if question.required and not answer:
        return [FieldError(field=field, message="This question needs an answer.")]
    if question.kind == "choice" and answer and answer not in question.choices:
        return [FieldError(field=field, message="Choose one of the answers.")]
    if question.kind == "time" and answer and parse_local(answer) is None:
        return [FieldError(field=field, message="Give a date and a time.")]
    too_long = _too_long(field, answer, MAX_ANSWER)
    return [too_long] if too_long else []


def message(
    form: ReportForm,
    *,
    received_at: datetime,
    media: tuple[AcceptedMedia, ...],
    call: Call | None = None,
    photo_answers: Mapping[str, str] | None = None,
) -> InboundMessage:
    """The checked form as what the case service receives."""
    found = point(form)
    answers = {key: value for key, value in form.answers.items() if value}
    for question in call.questions if call is not None else ():
        if question.kind == "time" and answers.get(question.key):
            moment = parse_local(answers[question.key])
            if moment is not None:
                answers[question.key] = moment.astimezone(LOCAL_ZONE).isoformat(timespec="minutes")
    answers.update({k: v for k, v in (photo_answers or {}).items() if v})
    return InboundMessage(
        channel="web",
        external_id=f"web:{form.submission}",
        received_at=received_at,
        kind=form.kind,
        text=form.text,
        language=None,
        category=form.category or None,
        lat=None if found is None else found[0],
        lon=None if found is None else found[1],
        address=form.address or None,
        occurred_at=parse_local(form.occurred) if form.occurred else None,
        contact=Contact(name=form.name or None, email=form.email or None),
        consent=form.consent,
        call_slug=None if call is None else call.slug,
        answers=answers,
        media=media,
    )
