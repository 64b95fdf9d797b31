"""What the inbox settings pages share: who may read them, the posted form with its CSRF check,
the admin behind them, and turning what the admin refuses into a message on the form.

Forms post without JavaScript. A refused form is shown again with what was typed and the
reason (422); the admin's reasons are in English, after a translated heading."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from starlette.datastructures import FormData

from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.checks import AdminError, AlreadyExists
from stadspuls.cases.records import OpeningSpan
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import Actor
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.web.auth import check_csrf, identify
from stadspuls.web.i18n import catalogue
from stadspuls.web.pages.guard import PageNotFound, page
from stadspuls.web.templating import language

Staff = Annotated[Actor, Depends(page("cases"))]
AdminPage = Annotated[Actor, Depends(page("admin"))]
LOCAL = ZoneInfo("Europe/Amsterdam")
MAX_FIELD = 20_000
# What the settings pages refuse with a message instead of an error page.
REFUSED = (AdminError, AlreadyExists, QuerySyntaxError, Forbidden)


class Posted:
    """A posted form: single values trimmed to MAX_FIELD, lists for repeated names."""

    def __init__(self, form: FormData) -> None:
        self._form = form

    def get(self, name: str, default: str = "") -> str:
        value = self._form.get(name)
        return value[:MAX_FIELD] if isinstance(value, str) else default

    def flag(self, name: str) -> bool:
        return self.get(name) not in ("", "0", "off")

    def all(self, name: str) -> list[str]:
        return [v for v in self._form.getlist(name) if isinstance(v, str)]

    def values(self) -> dict[str, str]:
        return {key: self.get(key) for key in self._form}


async def posted(request: Request) -> Posted:
    """The form, after its CSRF field matched the session's (403 otherwise)."""
    form = Posted(await request.form())
    identity = identify(request)
    assert identity is not None  # the page dependency let only a logged-in reader through
    check_csrf(identity, form.get("csrf"))
    return form


def case_admin(request: Request) -> CaseAdmin:
    admin: CaseAdmin = request.app.state.case_admin
    return admin


def not_found(error: NotFound) -> PageNotFound:
    return PageNotFound(str(error))


_SPAN = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})\s*$")


def parse_spans(text: str) -> tuple[OpeningSpan, ...]:
    """ "08:30-12:00, 13:00-17:00" → spans; "24:00" (or "00:00") as an end is midnight."""
    spans = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        match = _SPAN.match(part)
        if match is None:
            raise AdminError("%(span)r is not a span like 08:30-17:00", span=part.strip())
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise AdminError("%(span)r is not a time of day", span=part.strip())
        spans.append(OpeningSpan(start=time(h1, m1), end=time(h2, m2)))
    return tuple(spans)


def spans_text(spans: tuple[OpeningSpan, ...]) -> str:
    def clock(value: time, end: bool) -> str:
        return "24:00" if end and value == time(0, 0) else value.strftime("%H:%M")

    return ", ".join(f"{clock(s.start, False)}-{clock(s.end, True)}" for s in spans)


def parse_local(value: str, label: str) -> datetime | None:
    """A `datetime-local` field (Dutch local time) as an aware moment; empty: None."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise AdminError(
            "%(label)s: %(value)r is not a date and time", label=label, value=value
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment


def local_field(moment: datetime | None) -> str:
    """An aware moment as a `datetime-local` field's value (Dutch local time)."""
    return "" if moment is None else moment.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M")


def parse_number(value: str, label: str, *, integer: bool = False) -> float | None:
    """A number field; empty: None (no timer)."""
    if not value.strip():
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError as error:
        raise AdminError(
            "%(label)s: %(value)r is not a number", label=label, value=value
        ) from error
    if integer and not number.is_integer():
        raise AdminError("%(label)s: %(value)r is not a whole number", label=label, value=value)
    return number


def words(values: str) -> tuple[str, ...]:
    """A comma-separated field as a list."""
    return tuple(part.strip() for part in values.split(",") if part.strip())


def reason(request: Request, error: Exception) -> str:
    """What was refused, in the reader's language when the refusal says it with a template
    (`cases.errors.Explained`); otherwise as whoever refused it said it."""
    message, params = getattr(error, "message", None), getattr(error, "params", None)
    if not isinstance(message, str) or not isinstance(params, dict):
        return str(error)
    words = catalogue(language(request))
    if isinstance(params.get("label"), str):
        params = {**params, "label": words.gettext(params["label"])}
    try:
        return words.gettext(message) % params if params else words.gettext(message)
    except (KeyError, TypeError, ValueError):  # a translation that names other values
        return str(error)
