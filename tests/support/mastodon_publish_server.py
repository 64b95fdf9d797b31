"""The organisation's Mastodon account on loopback, as it answers publishing: /api/v2/instance
(the configured limits), POST /api/v2/media (multipart, 202 while processing) and GET
/api/v1/media/:id (206 until processed), POST /api/v1/statuses (form or JSON, media_ids[],
in_reply_to_id, Idempotency-Key answered with the status it already made). The JSON field names
and error bodies are Mastodon 4's (docs.joinmastodon.org: entities MediaAttachment, Status,
Instance; methods media, statuses). `fail` makes the next requests (to `fail_path`) answer with the
given codes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "mastodon-publish-token"
HOST = "mastodon.test"
_URL = re.compile(r"https?://\S+")
ERRORS = {
    401: "The access token is invalid",
    403: "This action is not allowed",
    404: "Record not found",
    422: "Validation failed: Text can't be blank",
    429: "Too many requests",
    500: "We're sorry, but something went wrong on our end.",
    503: "Service Unavailable",
}


class MastodonPublishServer:
    def __init__(
        self,
        *,
        max_characters: int = 500,
        processing_polls: int = 2,
        image_size_limit: int = 16777216,
        v2_media: bool = True,
    ) -> None:
        self.max_characters = max_characters
        self.v2_media = v2_media  # False: an older server, /api/v2/media is 404 (v1 only)
        self.image_size_limit = image_size_limit
        self.processing_polls = processing_polls  # GETs that answer 206 before the media is done
        self.fail: list[int] = []
        self.fail_path = ""  # only requests to paths that start with this fail
        self.requests: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.polls: dict[str, int] = {}
        self.statuses: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}
        self.next_id = 113_600_000_000_000_000
        self.app = Starlette(
            routes=[
                Route("/api/v2/instance", self.instance),
                Route("/api/v2/media", self.upload, methods=["POST"]),
                Route("/api/v1/media", self.upload, methods=["POST"]),
                Route("/api/v1/media/{id}", self.get_media),
                Route("/api/v1/statuses", self.post_status, methods=["POST"]),
            ]
        )

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def _check(self, request: Request) -> Response | None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "idempotency_key": request.headers.get("idempotency-key"),
            }
        )
        if self.fail and request.url.path.startswith(self.fail_path):
            code = self.fail.pop(0)
            headers = {}
            if code == 429:
                reset = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=90)
                headers = {
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset.isoformat().replace("+00:00", ".000Z"),
                }
            return JSONResponse({"error": ERRORS.get(code, "failure")}, code, headers=headers)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": ERRORS[401]}, 401)
        return None

    async def instance(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "domain": HOST,
                "title": "Mastodon test",
                "version": "4.3.2",
                "source_url": "https://github.com/mastodon/mastodon",
                "configuration": {
                    "urls": {"streaming": f"wss://{HOST}"},
                    "accounts": {"max_featured_tags": 10},
                    "statuses": {
                        "max_characters": self.max_characters,
                        "max_media_attachments": 4,
                        "characters_reserved_per_url": 23,
                    },
                    "media_attachments": {
                        "supported_mime_types": ["image/jpeg", "image/png", "image/webp"],
                        "image_size_limit": self.image_size_limit,
                        "image_matrix_limit": 33177600,
                    },
                },
            }
        )

    async def upload(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        v1 = request.url.path == "/api/v1/media"
        if not v1 and not self.v2_media:
            return JSONResponse({"error": ERRORS[404]}, 404)
        async with request.form() as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return JSONResponse({"error": "Validation failed: File can't be blank"}, 422)
            data = await file.read()
            if len(data) > self.image_size_limit:
                return JSONResponse(
                    {"error": "Validation failed: File file size must be less than 16 MB"}, 422
                )
            description = form.get("description")
            content_type, filename = file.content_type, file.filename
        media_id = self._id()
        self.uploads[media_id] = data
        self.polls[media_id] = 0
        self.media[media_id] = {
            "id": media_id,
            "type": "image",
            "url": None,
            "preview_url": f"https://{HOST}/system/media_attachments/files/{media_id}/small.jpg",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {"focus": {"x": 0.0, "y": 0.0}},
            "description": description if isinstance(description, str) else None,
            "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
            "content_type": content_type,
            "filename": filename,
        }
        if self.processing_polls == 0 or v1:  # v1 answers once the image is processed
            self._done(media_id)
            return JSONResponse(self.media[media_id], 200)
        return JSONResponse(self.media[media_id], 202)

    def _done(self, media_id: str) -> None:
        self.media[media_id]["url"] = (
            f"https://{HOST}/system/media_attachments/files/{media_id}/original.jpg"
        )

    async def get_media(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        media_id = request.path_params["id"]
        if media_id not in self.media:
            return JSONResponse({"error": ERRORS[404]}, 404)
        self.polls[media_id] += 1
        if self.polls[media_id] <= self.processing_polls:
            return JSONResponse(self.media[media_id], 206)
        self._done(media_id)
        return JSONResponse(self.media[media_id], 200)

    async def post_status(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
            media_ids = list(body.get("media_ids") or [])
        else:
            async with request.form() as form:
                body = {key: value for key, value in form.items() if key != "media_ids[]"}
                media_ids = [str(value) for value in form.getlist("media_ids[]")]
        key = request.headers.get("idempotency-key")
        if key and key in self.keys:
            return JSONResponse(self.keys[key])
        text = str(body.get("status") or "")
        if not text.strip() and not media_ids:
            return JSONResponse({"error": ERRORS[422]}, 422)
        if len(_URL.sub("x" * 23, text)) > self.max_characters:
            return JSONResponse(
                {
                    "error": "Validation failed: Text character limit of "
                    f"{self.max_characters} exceeded"
                },
                422,
            )
        attachments = []
        for media_id in media_ids:
            found = self.media.get(media_id)
            if found is None:
                return JSONResponse({"error": ERRORS[404]}, 404)
            if found["url"] is None:
                return JSONResponse(
                    {
                        "error": "Cannot attach files that have not finished processing. "
                        "Try again in a moment!"
                    },
                    422,
                )
            attachments.append(found)
        parent = body.get("in_reply_to_id")
        if parent and not any(s["id"] == parent for s in self.statuses):
            return JSONResponse({"error": ERRORS[404]}, 404)
        status_id = self._id()
        status = {
            "id": status_id,
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "in_reply_to_id": parent or None,
            "in_reply_to_account_id": "113526000000000001" if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": body.get("visibility", "public"),
            "language": body.get("language"),
            "uri": f"https://{HOST}/users/gemeente/statuses/{status_id}",
            "url": f"https://{HOST}/@gemeente/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": f"<p>{text}</p>",
            "reblog": None,
            "account": {"id": "113526000000000001", "username": "gemeente", "acct": "gemeente"},
            "media_attachments": attachments,
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        self.statuses.append({**status, "text": text})
        if key:
            self.keys[key] = status
        return JSONResponse(status)
