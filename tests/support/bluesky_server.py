"""The organisation's Bluesky account on loopback, speaking XRPC: createSession and
refreshSession (tokens that can be made to expire), listNotifications (newest first, paged by
an opaque cursor towards older ones, as the real one), and createRecord, recording the posts we
made. `fail` makes the next requests answer with the given status codes."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HANDLE = "gemeente-demo.bsky.social"
DID = "did:plc:gemeentedemo4x7k2mfq3ra"
PASSWORD = "abcd-efgh-ijkl-mnop"  # an app password's shape


class BlueskyAccount:
    def __init__(self, notifications: list[dict[str, Any]], *, page_size: int = 50) -> None:
        self.notifications = list(notifications)
        self.page_size = page_size
        self.sessions = 0
        self.refreshes = 0
        self.access = ""
        self.refresh = ""
        self.requests: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.fail: list[int] = []
        self.app = Starlette(
            routes=[
                Route(
                    "/xrpc/com.atproto.server.createSession", self.create_session, methods=["POST"]
                ),
                Route(
                    "/xrpc/com.atproto.server.refreshSession",
                    self.refresh_session,
                    methods=["POST"],
                ),
                Route("/xrpc/app.bsky.notification.listNotifications", self.list_notifications),
                Route("/xrpc/com.atproto.repo.createRecord", self.create_record, methods=["POST"]),
            ]
        )

    def expire_access(self) -> None:
        self.access = "expired"

    def expire_refresh(self) -> None:
        self.refresh = "expired"

    def _log(self, request: Request, body: Any = None) -> Response | None:
        self.requests.append(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "authorization": request.headers.get("authorization"),
                "body": body,
            }
        )
        if self.fail:
            code = self.fail.pop(0)
            headers = {"ratelimit-reset": "4102444800"} if code == 429 else {}
            return JSONResponse({"error": "InternalServerError"}, code, headers=headers)
        return None

    def _tokens(self) -> dict[str, str | bool]:
        self.sessions += 1
        self.access = f"access-{self.sessions}-{self.refreshes}"
        self.refresh = f"refresh-{self.sessions}-{self.refreshes}"
        return {
            "accessJwt": self.access,
            "refreshJwt": self.refresh,
            "handle": HANDLE,
            "did": DID,
            "active": True,
        }

    def _authorised(self, request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if given == f"Bearer {self.access}" and self.access != "expired":
            return None
        if given.startswith("Bearer access-"):
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return JSONResponse({"error": "AuthenticationRequired", "message": "Invalid token"}, 401)

    async def create_session(self, request: Request) -> Response:
        body = await request.json()
        failed = self._log(request, {**body, "password": "…"})
        if failed is not None:
            return failed
        if body.get("identifier") != HANDLE or body.get("password") != PASSWORD:
            return JSONResponse(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                401,
            )
        return JSONResponse(self._tokens())

    async def refresh_session(self, request: Request) -> Response:
        failed = self._log(request)
        if failed is not None:
            return failed
        if request.headers.get("authorization") != f"Bearer {self.refresh}":
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        self.refreshes += 1
        self.sessions -= 1  # the same session, new tokens
        return JSONResponse(self._tokens())

    async def list_notifications(self, request: Request) -> Response:
        failed = self._log(request) or self._authorised(request)
        if failed is not None:
            return failed
        ordered = sorted(self.notifications, key=lambda n: (n["indexedAt"], n["uri"]))[::-1]
        start = int(request.query_params.get("cursor", "0"))
        limit = min(int(request.query_params.get("limit", "50")), self.page_size)
        page = ordered[start : start + limit]
        body: dict[str, Any] = {"notifications": page, "priority": False}
        if start + limit < len(ordered):
            body["cursor"] = str(start + limit)
        return JSONResponse(body)

    async def create_record(self, request: Request) -> Response:
        body = await request.json()
        failed = self._log(request, body) or self._authorised(request)
        if failed is not None:
            return failed
        if body.get("repo") != DID:
            return JSONResponse({"error": "InvalidRequest", "message": "wrong repo"}, 400)
        rkey = f"3lcreply{len(self.records):04d}"
        uri = f"at://{DID}/{body['collection']}/{rkey}"
        cid = "bafyrei" + hashlib.sha256(uri.encode()).hexdigest()[:52]
        self.records.append({"uri": uri, "cid": cid, **body})
        return JSONResponse({"uri": uri, "cid": cid, "validationStatus": "valid"})
