"""Signed webhooks: an alert event POSTed as JSON, with an HMAC-SHA256 signature.

The signature covers the timestamp and the body: `sha256=HEX(HMAC(secret, TIMESTAMP + "." +
BODY))`, so a receiver that checks the timestamp is recent (e.g. within 5 minutes) refuses a
replayed request. Delivery is at least once: a receiver dedupes by `X-Stadspuls-Delivery`, which
is the same on every retry of one delivery. docs/alerts.md shows how to verify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

import httpx
import msgspec

from stadspuls.settings import WebhookSettings
from stadspuls.store.outbox import Delivery

SIGNATURE = "X-Stadspuls-Signature"
TIMESTAMP = "X-Stadspuls-Timestamp"
DELIVERY = "X-Stadspuls-Delivery"
EVENT = "X-Stadspuls-Event"
USER_AGENT = "Stadspuls-Webhook/1"
# A receiver should refuse a timestamp further than this from its own clock.
TOLERANCE_S = 300


class ChannelError(RuntimeError):
    """A channel that cannot work as configured (missing secret, unknown target)."""


class SendError(RuntimeError):
    """One send failed in a way a later retry may fix (down, timeout, non-2xx answer)."""


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


def load_secret(hook: WebhookSettings) -> bytes:
    if hook.secret_file is not None:
        try:
            secret = hook.secret_file.read_bytes().strip()
        except OSError as error:
            raise ChannelError(
                f"webhook {hook.name!r}: cannot read secret_file {hook.secret_file}: {error}"
            ) from error
        where = f"secret_file {hook.secret_file}"
    else:
        assert hook.secret_env is not None
        secret = os.environ.get(hook.secret_env, "").strip().encode()
        where = f"environment variable {hook.secret_env}"
    if len(secret) < 16:
        raise ChannelError(f"webhook {hook.name!r}: the secret in {where} is missing or short")
    return secret


def body_of(delivery: Delivery, link: str) -> bytes:
    return msgspec.json.encode(
        {
            "delivery_id": delivery.id,
            "event_id": delivery.event_id,
            "event": delivery.kind,
            "link": link,
            "alert": msgspec.Raw(delivery.payload.encode()),
        }
    )


class WebhookSender:
    """Sends to the webhooks named in the settings through one shared HTTP client."""

    def __init__(self, hooks: list[WebhookSettings], timeout_s: float) -> None:
        self.hooks = {hook.name: (hook.url, load_secret(hook)) for hook in hooks}
        self.client = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    async def send(self, delivery: Delivery, link: str) -> None:
        try:
            url, secret = self.hooks[delivery.target]
        except KeyError:
            raise ChannelError(f"no webhook named {delivery.target!r} in the settings") from None
        body = body_of(delivery, link)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE: sign(secret, stamp, body),
            TIMESTAMP: stamp,
            DELIVERY: str(delivery.id),
            EVENT: delivery.kind,
        }
        try:
            answer = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise SendError(
                f"webhook {delivery.target!r}: {type(error).__name__}: {error}"
            ) from error
        if not answer.is_success:
            raise SendError(f"webhook {delivery.target!r} answered {answer.status_code}")

    async def aclose(self) -> None:
        await self.client.aclose()
