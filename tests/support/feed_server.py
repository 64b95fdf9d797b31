"""A feed server on loopback with ETag / Last-Modified validators (304 when unchanged) and
scripted failures."""

from __future__ import annotations

import hashlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class FeedServer:
    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.failures: dict[str, int] = {}  # name → how many requests answer 500 first
        self.media_types: dict[str, str] = {}  # name → Content-Type, if not RSS
        self.requests: list[tuple[str, int, dict[str, str]]] = []
        self.app = Starlette(routes=[Route("/feeds/{name}", self.feed)])

    def etag(self, name: str) -> str:
        return '"' + hashlib.sha256(self.documents[name]).hexdigest()[:16] + '"'

    async def feed(self, request: Request) -> Response:
        name = request.path_params["name"]
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.failures.get(name, 0) > 0:
            self.failures[name] -= 1
            self.requests.append((name, 500, headers))
            return Response("upstream down", status_code=500)
        etag = self.etag(name)
        if headers.get("if-none-match") == etag:
            self.requests.append((name, 304, headers))
            return Response(status_code=304, headers={"ETag": etag})
        self.requests.append((name, 200, headers))
        return Response(
            self.documents[name],
            media_type=self.media_types.get(name, "application/rss+xml"),
            headers={"ETag": etag, "Last-Modified": "Sat, 23 Nov 2024 14:20:00 GMT"},
        )
