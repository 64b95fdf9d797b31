"""Web Push (RFC 8030) to volunteers' browsers: the payload encrypted for the subscription
(RFC 8291, aes128gcm, with pywebpush's encoder over http_ece), the sender identified by VAPID
(RFC 8292, an ES256 JWT signed with py_vapid), the POST made with httpx, asynchronously, so
that hundreds of pushes share one event loop and one connection pool per push service.

The VAPID key pair is generated on first run (a PEM file, mode 0600); its public key, as a
base64url uncompressed P-256 point, is the `applicationServerKey` the page subscribes with.
A push service answers 201 when it took the message; 404 or 410 when the subscription is gone
(the browser unsubscribed: drop it); 429 and 5xx are worth retrying; any other answer is not.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher

from stadspuls.volunteers.records import PushSubscription

log = logging.getLogger(__name__)
# A VAPID JWT may live up to 24 hours (RFC 8292 §2); ours live 12 and are renewed an hour early.
_JWT_S = 12 * 3600
_RENEW_S = 3600


class PushError(Exception):
    """A push that did not go through. `gone`: the subscription no longer exists; `retry`: the
    push service is busy or failing, try again later."""

    def __init__(self, message: str, *, gone: bool = False, retry: bool = False) -> None:
        super().__init__(message)
        self.gone = gone
        self.retry = retry


def load_or_create_vapid(path: Path) -> Vapid02:
    """The VAPID key pair from `path` (PEM), generated there (mode 0600) on first run; when two
    processes start at once exactly one key wins (written aside, then linked into place)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        else:
            log.info("generated a new VAPID key pair for web push in %s", path)
        finally:
            os.unlink(temporary)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as error:
        raise ValueError(f"{path} does not hold a P-256 key in PEM (VAPID needs one)") from error
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp256r1":
        raise ValueError(f"{path} does not hold a P-256 key (VAPID needs one)")
    return Vapid02(loaded)


def application_server_key(vapid: Vapid02) -> str:
    """The public key for PushManager.subscribe(): base64url, uncompressed point, no padding."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encrypt(subscription: PushSubscription, payload: bytes) -> bytes:
    """The aes128gcm body (RFC 8188 header with the sender's ephemeral key, then records)."""
    pusher = WebPusher(
        {"endpoint": subscription.endpoint,
         "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    )  # fmt: skip
    body: bytes = pusher.encode(payload, content_encoding="aes128gcm")["body"]
    return body


class WebPush:
    def __init__(
        self,
        vapid: Vapid02,
        *,
        subject: str,
        ttl_s: int,
        client: httpx.AsyncClient,
        urgency: str = "high",
    ) -> None:
        self.vapid = vapid
        self.subject = subject
        self.ttl_s = ttl_s
        self.client = client
        self.urgency = urgency
        self._headers: dict[str, tuple[float, str]] = {}  # audience -> (expiry, Authorization)

    def authorization(self, endpoint: str) -> str:
        """The VAPID Authorization header for the endpoint's origin (cached until near its end)."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._headers.get(audience)
        if cached is not None and cached[0] - _RENEW_S > now:
            return cached[1]
        expiry = int(now) + _JWT_S
        header = self.vapid.sign({"aud": audience, "sub": self.subject, "exp": expiry})
        value: str = header["Authorization"]
        self._headers[audience] = (expiry, value)
        return value

    async def send(self, subscription: PushSubscription, payload: bytes) -> None:
        """Hand one message to the subscription's push service; PushError when it did not."""
        if urlsplit(subscription.endpoint).scheme not in ("https", "http"):
            raise PushError("the subscription's endpoint is not a web address", gone=True)
        try:
            body = encrypt(subscription, payload)
        except Exception as error:  # pywebpush raises its own and binascii/ValueError
            raise PushError(f"cannot encrypt for this subscription: {error}", gone=True) from error
        headers = {
            "Authorization": self.authorization(subscription.endpoint),
            "TTL": str(self.ttl_s),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": self.urgency,
        }
        try:
            response = await self.client.post(subscription.endpoint, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise PushError(f"push service unreachable: {error}", retry=True) from error
        status = response.status_code
        if status in (200, 201, 202):
            return
        text = f"push service answered {status}: {response.text[:200]}"
        if status in (404, 410):
            raise PushError(text, gone=True)
        raise PushError(text, retry=status == 429 or status >= 500)
