"""What makes a call for tips ("oproep") valid, and whether one is open to the public.

Checked when a call is saved (CaseAdmin.save_call), so that the public page never meets a
question it cannot draw or an address that is not a valid link.
"""

from __future__ import annotations

import re
from datetime import datetime

from stadspuls.cases.errors import Explained
from stadspuls.cases.records import QUESTION_KINDS, Call

SLUG = re.compile(r"[a-z0-9-]{3,80}")
QUESTION_KEY = re.compile(r"[a-z0-9_]{1,40}")
MAX_QUESTIONS = 20
MAX_CHOICES = 30


class CallError(Explained):
    """A call that cannot be published as it is; the message says what to change."""


def validate(call: Call) -> None:
    if not SLUG.fullmatch(call.slug):
        raise CallError(
            "the address %(slug)r must be 3–80 characters: a–z, 0–9 and hyphens", slug=call.slug
        )
    if not call.title.strip():
        raise CallError("a call needs a title")
    if len(call.title) > 300:
        raise CallError("a call's title is at most 300 characters")
    if call.starts_at.tzinfo is None or (call.ends_at and call.ends_at.tzinfo is None):
        raise CallError("start and end need a time zone")
    if call.ends_at is not None and call.ends_at <= call.starts_at:
        raise CallError("a call ends after it starts")
    if (call.lat is None) != (call.lon is None):
        raise CallError("the incident's place needs both latitude and longitude")
    if call.lat is not None and not -90 <= call.lat <= 90:
        raise CallError("latitude %(lat)s is not between -90 and 90", lat=call.lat)
    if call.lon is not None and not -180 <= call.lon <= 180:
        raise CallError("longitude %(lon)s is not between -180 and 180", lon=call.lon)
    if len(call.questions) > MAX_QUESTIONS:
        raise CallError("a call asks at most %(n)s questions", n=MAX_QUESTIONS)
    keys: set[str] = set()
    for question in call.questions:
        if not QUESTION_KEY.fullmatch(question.key):
            raise CallError("question key %(key)r must be a–z, 0–9 and _", key=question.key)
        if question.key in keys:
            raise CallError("two questions have the key %(key)r", key=question.key)
        keys.add(question.key)
        if not question.label.strip():
            raise CallError("question %(key)r needs a label", key=question.key)
        if question.kind not in QUESTION_KINDS:
            raise CallError(
                "question %(key)r: kind %(kind)r is not one of %(kinds)s",
                key=question.key,
                kind=question.kind,
                kinds=", ".join(QUESTION_KINDS),
            )
        choices = [choice.strip() for choice in question.choices]
        if question.kind == "choice":
            if len(choices) < 2 or any(not choice for choice in choices):
                raise CallError("question %(key)r needs at least two choices", key=question.key)
            if len(set(choices)) != len(choices):
                raise CallError("question %(key)r lists a choice twice", key=question.key)
            if len(choices) > MAX_CHOICES:
                raise CallError(
                    "question %(key)r has more than %(n)s choices", key=question.key, n=MAX_CHOICES
                )
        elif choices:
            raise CallError(
                "question %(key)r: only a choice question has choices", key=question.key
            )


def is_open(call: Call, at: datetime) -> bool:
    """Open to tips: not closed, started, and not yet ended."""
    if call.closed or at < call.starts_at:
        return False
    return call.ends_at is None or at < call.ends_at
