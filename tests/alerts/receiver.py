"""A webhook receiver as a duty team would run one: it verifies each request's signature and
timestamp and keeps what it was sent (a plain ASGI app, served by uvicorn on loopback)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Receive, Scope, Send

from stadspuls.alerts.webhook import DELIVERY, SIGNATURE, TIMESTAMP, verify


class Receiver:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []  # bodies of verified requests
        self.delivery_ids: list[str] = []
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        signed = verify(
            self.secret,
            headers.get(TIMESTAMP.lower(), ""),
            body,
            headers.get(SIGNATURE.lower(), ""),
        )
        if signed:
            self.received.append(json.loads(body))
            self.delivery_ids.append(headers[DELIVERY.lower()])
        else:
            self.refused += 1
        status = 204 if signed else 401
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
