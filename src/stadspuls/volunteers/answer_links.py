"""Signed answer links: "accepted", "declined" or "arrived" for one target of one call-out,
valid until a moment, answered without logging in.

They are the volunteers' signed links (`tokens.Signer`: HMAC-SHA-256 under a key derived from
the index key) with their own purpose, "answer", so a manage link can never pass for an answer;
the subject is `TARGET-ANSWER`, e.g. `412-accepted`: an id and a word, no personal data.
"""

from __future__ import annotations

import re
from datetime import datetime

from stadspuls.volunteers.errors import BadLink
from stadspuls.volunteers.records import ANSWERS
from stadspuls.volunteers.tokens import Signer

PURPOSE = "answer"
_SUBJECT = re.compile(r"^([1-9][0-9]{0,18})-([a-z]{1,16})$")


def sign(signer: Signer, target_id: int, answer: str, expires: datetime) -> str:
    if answer not in ANSWERS:
        raise ValueError(f"unknown answer {answer!r}")
    return signer.sign(PURPOSE, f"{target_id}-{answer}", expires)


def open_token(signer: Signer, token: str, now: datetime) -> tuple[int, str]:
    """(target id, answer) of a genuine token that has not expired; BadLink otherwise."""
    if not token or len(token) > 200:
        raise BadLink("Deze link is ongeldig.")
    match = _SUBJECT.match(signer.open(PURPOSE, token, now=now))
    if match is None or match.group(2) not in ANSWERS:
        raise BadLink("Deze link is ongeldig.")
    return int(match.group(1)), match.group(2)
