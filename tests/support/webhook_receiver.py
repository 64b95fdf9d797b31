"""A publication webhook's receiver as a website or push service would run one: it verifies
each request's signature and timestamp (`alerts.webhook.verify`), drops a repeated
X-Stadspuls-Delivery (delivery is at least once), keeps what it accepted, and answers where the
item is now shown. `fail` answers the next requests with the given status codes (a 429 with
Retry-After: 42)."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stadspuls.alerts.webhook import DELIVERY, EVENT, SIGNATURE, TIMESTAMP, verify


class WebhookReceiver:
    def __init__(self, secret: bytes, *, site: str = "https://www.gemeente.example") -> None:
        self.secret = secret
        self.site = site
        self.fail: list[int] = []
        self.attempts = 0
        self.refused = 0
        self.accepted: dict[str, dict[str, Any]] = {}  # delivery id -> body
        self.headers: list[dict[str, str]] = []
        self.app = Starlette(routes=[Route("/hooks/stadspuls", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        self.attempts += 1
        body = await request.body()
        self.headers.append(dict(request.headers))
        if self.fail:
            code = self.fail.pop(0)
            headers = {"Retry-After": "42"} if code == 429 else {}
            return JSONResponse({"error": f"failure {code}"}, code, headers=headers)
        signed = verify(
            self.secret,
            request.headers.get(TIMESTAMP, ""),
            body,
            request.headers.get(SIGNATURE, ""),
        )
        if not signed:
            self.refused += 1
            return JSONResponse({"error": "bad signature"}, 401)
        delivery = request.headers[DELIVERY]
        content = json.loads(body)
        if request.headers.get(EVENT) != "publication.published":
            return JSONResponse({"error": "unknown event"}, 422)
        self.accepted.setdefault(delivery, content)
        number = content["publication"]["id"]
        return JSONResponse({"url": f"{self.site}/actueel/{number}"}, 200)
