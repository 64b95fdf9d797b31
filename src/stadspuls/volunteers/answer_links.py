"""Signed answer links: "accept", "decline" or "arrived" for one target of one call-out, valid
until a moment, answered without logging in.

A token is `TARGET.ANSWER.EXPIRY.MAC`: the target's id, the answer, the expiry (Unix seconds)
and an HMAC-SHA256 over the three, truncated to 128 bits (as RFC 2104 allows) and written in
base64url. The key is derived from the volunteers' index key with its own label, so a token of
another purpose (a manage link, a confirmation) can never pass for an answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime

from stadspuls.volunteers.errors import BadLink
from stadspuls.volunteers.records import ANSWERS

_LABEL = b"stadspuls callout answer links v1"
_MAC_BYTES = 16
_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([a-z]{1,16})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})$")


def derive_key(index_key: bytes) -> bytes:
    """The answer links' own key, from the volunteers' index key."""
    return hmac.new(index_key, _LABEL, hashlib.sha256).digest()


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, b"answer:" + payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, target_id: int, answer: str, expires: datetime) -> str:
    if answer not in ANSWERS:
        raise ValueError(f"unknown answer {answer!r}")
    payload = f"{target_id}.{answer}.{int(expires.timestamp())}"
    return f"{payload}.{_mac(key, payload)}"


def open_token(key: bytes, token: str, now: datetime) -> tuple[int, str]:
    """(target id, answer) of a genuine token that has not expired; BadLink otherwise."""
    match = _TOKEN.match(token or "")
    if match is None:
        raise BadLink("this answer link is not valid")
    target_id, answer, expiry, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(key, f"{target_id}.{answer}.{expiry}")):
        raise BadLink("this answer link is not valid")
    if answer not in ANSWERS:
        raise BadLink("this answer link is not valid")
    if datetime.fromtimestamp(int(expiry), tz=UTC) <= now:
        raise BadLink("this answer link has expired: the call-out is over", expired=True)
    return int(target_id), answer
