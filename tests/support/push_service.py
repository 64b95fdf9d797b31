"""A real Web Push service on loopback (what FCM or Mozilla's autopush do for a browser), for
tests: it takes RFC 8030 POSTs to a subscription's endpoint, checks the VAPID JWT (RFC 8292:
ES256 by the key in `k`, `aud` its own origin, `exp` within 24 hours, a `sub` contact) and
decrypts the aes128gcm payload (RFC 8291) with the subscription's private key, so a test reads
the plaintext a service worker would get.

`subscribe()` plays the browser: a fresh P-256 key pair and 16-byte auth secret, exactly what a
PushSubscription holds. Failure injection: `gone` answers 410 for a subscription (the browser
unsubscribed); `fail_next[id]` answers the listed statuses first (429, 500, ...).
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stadspuls.volunteers.records import PushSubscription


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    subscription: str  # the id in the endpoint
    payload: bytes  # decrypted
    headers: dict[str, str]
    vapid_key: str  # the `k` the sender signed with

    def json(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.payload)
        return data


@dataclass
class _Browser:
    key: ec.EllipticCurvePrivateKey
    auth: bytes


@dataclass
class PushService:
    origin: str = ""  # set once served: "http://127.0.0.1:PORT"
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, why)
    gone: set[str] = field(default_factory=set)
    fail_next: dict[str, list[int]] = field(default_factory=dict)
    _browsers: dict[str, _Browser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/push/{sid}", self.push, methods=["POST"])])

    def subscribe(self) -> PushSubscription:
        """A new browser subscription at this service (call after `origin` is set)."""
        sid = _b64(os.urandom(12))
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self._browsers[sid] = _Browser(key, auth)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return PushSubscription(
            endpoint=f"{self.origin}/push/{sid}", p256dh=_b64(public), auth=_b64(auth)
        )

    def sid(self, subscription: PushSubscription) -> str:
        return subscription.endpoint.rsplit("/", 1)[1]

    def _refuse(self, status: int, why: str) -> Response:
        self.refused.append((status, why))
        return Response(why, status_code=status)

    def _check_vapid(self, header: str) -> str | None:
        """The sender's public key (`k`) when the VAPID header is genuine, else None."""
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            return None
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        token, k = parts.get("t", ""), parts.get("k", "")
        pieces = token.split(".")
        if len(pieces) != 3 or not k:
            return None
        head = json.loads(_unb64(pieces[0]))
        claims = json.loads(_unb64(pieces[1]))
        if head.get("alg") != "ES256":
            return None
        signature = _unb64(pieces[2])
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(k))
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public.verify(der, f"{pieces[0]}.{pieces[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return None
        now = time.time()
        if claims.get("aud") != self.origin or not now < claims.get("exp", 0) <= now + 86400:
            return None
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return None
        return k

    async def push(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        browser = self._browsers.get(sid)
        if browser is None or sid in self.gone:
            return self._refuse(410, "push subscription has unsubscribed or expired")
        plan = self.fail_next.get(sid)
        if plan:
            return self._refuse(plan.pop(0), "injected failure")
        k = self._check_vapid(request.headers.get("authorization", ""))
        if k is None:
            return self._refuse(403, "VAPID credentials are missing or do not verify")
        if "ttl" not in request.headers:
            return self._refuse(400, "a TTL header is required")
        if request.headers.get("content-encoding") != "aes128gcm":
            return self._refuse(415, "Content-Encoding must be aes128gcm")
        body = await request.body()
        if len(body) > 4096:
            return self._refuse(413, "payload too large")
        try:
            plain = http_ece.decrypt(
                body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
            )
        except Exception as error:  # http_ece raises ECEException and cryptography's errors
            return self._refuse(400, f"cannot decrypt: {error}")
        self.received.append(Received(sid, plain, dict(request.headers), k))
        return Response(
            status_code=201, headers={"Location": f"{self.origin}/message/{len(self.received)}"}
        )
