"""Publishing to the organisation's Mastodon account (the inbox's `inbox.mastodon`).

Images. Each image goes up first through POST /api/v2/media (multipart `file`, with its alt
text as `description`); the server answers 200 when it is ready, or 202 while it still
processes it, and then GET /api/v1/media/:id answers 206 until it is done. (A server without
/api/v2/media gets POST /api/v1/media, which answers when the image is ready.) A status may only
carry media that is done ("Cannot attach files that have not finished processing").

Statuses. POST /api/v1/statuses, public, in the publication's language, the images on the first
part; a longer text becomes a numbered thread, each part `in_reply_to_id` the previous. Every
part carries an Idempotency-Key made from the delivery row and the part's number: Mastodon
answers a repeated key (for an hour) with the status it already made, so a retry after a lost
answer posts nothing twice. An upload is not idempotent, but a media item that no status uses
is only a file the server removes by itself.

Limits. 500 characters and 16 MB an image, or what the instance says in /api/v2/instance
(configuration.statuses.max_characters, configuration.media_attachments.image_size_limit),
asked once; a larger image is re-encoded smaller.

Errors. 401/403/404/422 (and other 4xx) cannot be fixed by retrying: permanent, with the
server's own `error` text. 429 says when to come back (X-RateLimit-Reset, else Retry-After);
408, 5xx and connection failures are retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from stadspuls.channels.mastodon import retry_after
from stadspuls.publish.images import fit_image, load_image
from stadspuls.publish.news import NewsTarget
from stadspuls.publish.preview import MASTODON_LIMIT, mastodon_preview
from stadspuls.publish.records import Delivery, MediaItem, Preview, Publication
from stadspuls.publish.targets import MediaLoader, SendError, Sent
from stadspuls.records import utcnow
from stadspuls.settings import MastodonAccountSettings

NAME = "mastodon"
TIMEOUT_S = 30.0
MEDIA_BYTES = 16 * 1024 * 1024  # Mastodon 4's limit for an image
MEDIA_POLLS = 60  # times GET /api/v1/media/:id is asked while the server still processes
MEDIA_POLL_S = 1.0


class MastodonTarget:
    name = NAME

    def __init__(
        self,
        account: MastodonAccountSettings,
        news: NewsTarget,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        media_poll_s: float = MEDIA_POLL_S,
    ) -> None:
        self.base_url = account.base_url.rstrip("/")
        self.host = httpx.URL(self.base_url).host
        self.news = news
        self.limit: int | None = MASTODON_LIMIT
        self.media_bytes = MEDIA_BYTES
        self.clock = clock
        self.media_poll_s = media_poll_s
        self._asked_limit = False
        # A token that cannot be read fails each send (permanently) instead of the start-up:
        # the other targets go on.
        self.token_error: str | None = None
        try:
            token = account.access_token_file.read_text().strip()
        except OSError as error:
            token = ""
            self.token_error = f"cannot read access_token_file {account.access_token_file}: {error}"
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_S)
        self.headers = {"Authorization": f"Bearer {token}"}

    def preview(self, publication: Publication, *, public_url: str | None) -> Preview:
        news_url = public_url or self.news.preview_url(publication)
        return mastodon_preview(publication, news_url=news_url, limit=self.limit or MASTODON_LIMIT)

    async def send(self, publication: Publication, delivery: Delivery, media: MediaLoader) -> Sent:
        if self.token_error is not None:
            raise SendError(f"mastodon: {self.token_error}", permanent=True)
        await self._ask_limit()
        preview = self.preview(publication, public_url=None)
        if not preview.fits:
            raise SendError("mastodon: " + " ".join(preview.warnings), permanent=True)
        media_ids = [await self._upload(item, media) for item in publication.media]
        first: dict[str, Any] | None = None
        parent: str | None = None
        for number, part in enumerate(preview.parts, start=1):
            form: dict[str, Any] = {
                "status": part,
                "visibility": "public",
                "language": publication.lang,
            }
            if number == 1 and media_ids:
                form["media_ids[]"] = media_ids
            if parent is not None:
                form["in_reply_to_id"] = parent
            status = _object(
                await self._request(
                    "POST",
                    "/api/v1/statuses",
                    data=form,
                    headers={"Idempotency-Key": f"stadspuls-publish-{delivery.id}-{number}"},
                )
            )
            status_id = status.get("id")
            if not isinstance(status_id, str):
                raise SendError("mastodon: the posted status has no id")
            first = first or status
            parent = status_id
        assert first is not None
        url = first.get("url")
        return Sent(external_id=str(first["id"]), url=url if isinstance(url, str) else None)

    async def _ask_limit(self) -> None:
        """The instance's own limit, asked once; the default when it does not say."""
        if self._asked_limit:
            return
        # An older server without /api/v2/instance (404): the default limit.
        response = await self._request("GET", "/api/v2/instance", allow=(404,))
        instance = _object(response) if response.status_code == 200 else {}
        self._asked_limit = True
        configuration = instance.get("configuration") or {}
        most = (configuration.get("statuses") or {}).get("max_characters")
        if isinstance(most, int) and most > 0:
            self.limit = most
        image_bytes = (configuration.get("media_attachments") or {}).get("image_size_limit")
        if isinstance(image_bytes, int) and image_bytes > 0:
            self.media_bytes = image_bytes

    async def _upload(self, item: MediaItem, media: MediaLoader) -> str:
        data = load_image(media, item, NAME)
        data, content_type = fit_image(data, item.content_type, self.media_bytes)
        extension = content_type.rsplit("/", 1)[-1]
        upload: dict[str, Any] = {
            "files": {"file": (f"{item.sha256[:16]}.{extension}", data, content_type)},
            "data": {"description": item.alt},
        }
        response = await self._request("POST", "/api/v2/media", allow=(404,), **upload)
        if response.status_code == 404:
            # A server of the Mastodon API without v2 (older versions, some other software):
            # v1 answers when the image is processed.
            response = await self._request("POST", "/api/v1/media", **upload)
        attachment = _object(response)
        media_id = attachment.get("id")
        if not isinstance(media_id, str):
            raise SendError("mastodon: the uploaded image has no id")
        polls = 0
        while response.status_code in (202, 206) or attachment.get("url") is None:
            if polls >= MEDIA_POLLS:
                raise SendError(f"mastodon: image {media_id} still processing after {polls} asks")
            polls += 1
            await asyncio.sleep(self.media_poll_s)
            response = await self._request("GET", f"/api/v1/media/{media_id}")
            attachment = _object(response)
        return media_id

    async def _request(
        self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            response = await self.client.request(
                method, self.base_url + path, headers=headers, **kwargs
            )
        except httpx.HTTPError as error:
            raise SendError(f"mastodon {self.host}: {type(error).__name__}: {error}") from error
        code = response.status_code
        if code in allow:
            return response
        if code == 429:
            raise SendError(
                f"mastodon {self.host}: rate limited on {method} {path}",
                retry_after_s=retry_after(response, self.clock()),
            )
        if code >= 500 or code == 408:
            raise SendError(f"mastodon {self.host}: {code} on {method} {path}")
        if code >= 400:
            raise SendError(
                f"mastodon {self.host}: {code} on {method} {path}: {_error_text(response)}",
                permanent=True,
            )
        return response

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_text(response: httpx.Response) -> str:
    """Mastodon's own words: {"error": "..."} (and `details` for a 422's fields)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:300]
    return response.text[:200]


def _object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as error:
        raise SendError(f"mastodon: not JSON ({response.status_code}): {error}") from error
    if not isinstance(body, dict):
        raise SendError("mastodon: expected a JSON object")
    return body
