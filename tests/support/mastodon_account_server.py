"""The organisation's own Mastodon account on loopback: the notifications API (types[],
min_id/since_id/max_id, limit, Link headers, rate-limit headers) over recorded-shape
notifications, status lookup, and posting statuses with Idempotency-Key, recording what we
sent. `fail` makes the next requests answer with the given status codes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "mastodon-test-token"


def id_key(value: str) -> tuple[int, str]:
    return (len(value), value)


class MastodonAccount:
    def __init__(
        self,
        notifications: list[dict[str, Any]],
        *,
        page_size: int = 40,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.clock = clock
        self.notifications = sorted(notifications, key=lambda n: id_key(n["id"]))
        self.page_size = page_size
        self.requests: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}
        self.fail: list[int] = []
        self.remaining = 300
        self.next_status = 113_590_000_000_000_000
        self.app = Starlette(
            routes=[
                Route("/api/v1/notifications", self.list_notifications),
                Route("/api/v1/statuses/{id}/context", self.get_context),
                Route("/api/v1/statuses/{id}", self.get_status),
                Route("/api/v1/statuses", self.post_status, methods=["POST"]),
            ]
        )

    def add(self, notification: dict[str, Any]) -> None:
        self.notifications.append(notification)
        self.notifications.sort(key=lambda n: id_key(n["id"]))

    def _check(self, request: Request) -> Response | None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": list(request.query_params.multi_items()),
                "authorization": request.headers.get("authorization"),
                "idempotency_key": request.headers.get("idempotency-key"),
            }
        )
        if self.fail:
            code = self.fail.pop(0)
            body = {"error": "Too many requests" if code == 429 else "failure"}
            headers = self._rate_headers()
            return JSONResponse(body, code, headers=headers)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "The access token is invalid"}, 401)
        self.remaining -= 1
        return None

    def _rate_headers(self) -> dict[str, str]:
        reset = self.clock().replace(microsecond=0) + timedelta(seconds=30)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": reset.isoformat().replace("+00:00", ".000000Z"),
        }

    async def list_notifications(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        params = request.query_params
        types = params.getlist("types[]")
        found = [n for n in self.notifications if not types or n["type"] in types]
        limit = min(int(params.get("limit", "40")), self.page_size)
        if "max_id" in params:
            found = [n for n in found if id_key(n["id"]) < id_key(params["max_id"])]
        if "min_id" in params:
            newer = [n for n in found if id_key(n["id"]) > id_key(params["min_id"])]
            page = newer[:limit]  # right after min_id
        else:
            if "since_id" in params:
                found = [n for n in found if id_key(n["id"]) > id_key(params["since_id"])]
            page = found[-limit:]
        page = list(reversed(page))  # newest first
        headers = self._rate_headers()
        if page:
            base = f"{request.url.scheme}://{request.url.netloc}/api/v1/notifications"
            kinds = "".join(f"&types[]={t}" for t in types)
            headers["Link"] = (
                f'<{base}?max_id={page[-1]["id"]}{kinds}>; rel="next", '
                f'<{base}?min_id={page[0]["id"]}{kinds}>; rel="prev"'
            )
        return JSONResponse(page, headers=headers)

    def _status(self, wanted: str | None) -> dict[str, Any] | None:
        for item in [n.get("status") for n in self.notifications] + self.posted:
            if isinstance(item, dict) and item.get("id") == wanted:
                return item
        return None

    async def get_status(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        found = self._status(request.path_params["id"])
        if found is None:
            return JSONResponse({"error": "Record not found"}, 404)
        return JSONResponse(found)

    async def get_context(self, request: Request) -> Response:
        """The statuses above this one in its thread, oldest first (and none below)."""
        refused = self._check(request)
        if refused is not None:
            return refused
        found = self._status(request.path_params["id"])
        if found is None:
            return JSONResponse({"error": "Record not found"}, 404)
        ancestors = []
        parent = self._status(found.get("in_reply_to_id"))
        while parent is not None:
            ancestors.append(parent)
            parent = self._status(parent.get("in_reply_to_id"))
        return JSONResponse({"ancestors": ancestors[::-1], "descendants": []})

    async def post_status(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        body = await request.json()
        key = request.headers.get("idempotency-key")
        if key and key in self.keys:
            return JSONResponse(self.keys[key])  # Mastodon answers a repeated key with the same
        if len(body.get("status", "")) > 500:
            return JSONResponse({"error": "Validation failed: Text is too long"}, 422)
        self.next_status += 1
        status = {
            "id": str(self.next_status),
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "in_reply_to_id": body.get("in_reply_to_id"),
            "visibility": body.get("visibility", "public"),
            "language": body.get("language"),
            "content": f"<p>{body.get('status', '')}</p>",
            "uri": f"https://mastodon.test/users/gemeente/statuses/{self.next_status}",
            "account": {"id": "113526000000000001", "username": "gemeente", "acct": "gemeente"},
            "media_attachments": [],
            "mentions": [],
        }
        self.posted.append({**copy.deepcopy(status), "sent": body})
        if key:
            self.keys[key] = status
        return JSONResponse(status)
