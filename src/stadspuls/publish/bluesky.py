"""Publishing to the organisation's Bluesky account (the inbox's `inbox.bluesky`), through the
maintained AT Protocol client (`atproto`, MarshalX): unlike the inbox's four XRPC calls, a post
with images, cards, facets and replies is a record the library's models write correctly.

A session: com.atproto.server.createSession with the handle and the app password (the library
renews it before the access token expires). Each image goes up with uploadBlob (made smaller
than Bluesky's 1,000,000-byte limit when needed) and is embedded with its alt text
(app.bsky.embed.images); without images, the link card is an app.bsky.embed.external with the
publication's title and the start of its text. Links and hashtags get facets (byte offsets).

A text longer than 300 graphemes becomes a numbered thread: each later post a reply with root
(the first post) and parent (the one before). Every post has a record key made from the delivery
(publish.richtext.record_key): a retry after a lost answer is refused as existing, and the post
is then read with getRecord instead of made twice.

Errors. A wrong handle or app password, an invalid record: permanent, in the server's words.
429: back when ratelimit-reset says. 5xx, a dropped connection, a timeout: retried.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from atproto import (  # type: ignore[import-untyped]  # no py.typed marker
    AsyncClient,
    AsyncRequest,
    Session,
    SessionEvent,
    models,
)
from atproto import exceptions as atx

from stadspuls.publish.images import fit_image, load_image
from stadspuls.publish.news import NewsTarget
from stadspuls.publish.preview import BLUESKY_LIMIT, bluesky_preview, bluesky_text, card_link
from stadspuls.publish.records import Delivery, MediaItem, Preview, Publication
from stadspuls.publish.richtext import facets, record_key
from stadspuls.publish.targets import MediaLoader, SendError, Sent
from stadspuls.records import utcnow
from stadspuls.settings import BlueskyAccountSettings

NAME = "bluesky"
POST = "app.bsky.feed.post"
BLOB_BYTES = 1_000_000
TIMEOUT_S = 30.0
_TOKEN_ERRORS = ("ExpiredToken", "InvalidToken")


class BlueskyTarget:
    name = NAME
    limit: int | None = BLUESKY_LIMIT

    def __init__(
        self,
        account: BlueskyAccountSettings,
        news: NewsTarget,
        *,
        clock: Callable[[], datetime] = utcnow,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.service = account.service.rstrip("/")
        self.handle = account.handle
        self.news = news
        self.clock = clock
        # A password that cannot be read fails each send (permanently), not the start-up.
        self.password_error: str | None = None
        try:
            self.password = account.app_password_file.read_text().strip()
        except OSError as error:
            self.password = ""
            self.password_error = (
                f"cannot read app_password_file {account.app_password_file}: {error}"
            )
        self.client = AsyncClient(base_url=self.service, request=AsyncRequest(timeout=timeout_s))
        self.client.on_session_change(self._keep_session)
        self.did: str | None = None

    async def _keep_session(self, event: SessionEvent, session: Session) -> None:
        del event
        self.did, self.handle = session.did, session.handle

    def preview(self, publication: Publication, *, public_url: str | None) -> Preview:
        return bluesky_preview(
            publication, news_url=public_url or self.news.preview_url(publication)
        )

    async def send(self, publication: Publication, delivery: Delivery, media: MediaLoader) -> Sent:
        if self.password_error is not None:
            raise SendError(f"bluesky: {self.password_error}", permanent=True)
        preview = self.preview(publication, public_url=None)
        if not preview.fits:
            raise SendError("bluesky: " + " ".join(preview.warnings), permanent=True)
        when = publication.published_at or publication.approved_at or publication.created_at
        keys = [record_key(delivery.id, n, when) for n in range(len(preview.parts))]
        try:
            return await self._post(publication, preview, keys, media)
        except atx.AtProtocolError as error:
            if _error_name(error) in _TOKEN_ERRORS:
                self.did = None  # a new session on the next try
            raise _classified(error, self.clock()) from error

    async def _post(
        self, publication: Publication, preview: Preview, keys: list[str], media: MediaLoader
    ) -> Sent:
        if self.did is None:
            await self.client.login(self.handle, self.password, fetch_bsky_profile=False)
        assert self.did is not None
        link = card_link(publication, self.news.preview_url(publication))
        _, short_links = bluesky_text(publication, link)
        root: models.ComAtprotoRepoStrongRef.Main | None = None
        parent: models.ComAtprotoRepoStrongRef.Main | None = None
        for number, (part, rkey) in enumerate(zip(preview.parts, keys, strict=True)):
            made = await self._existing(rkey)
            if made is None:
                embed = await self._embed(publication, preview, media) if number == 0 else None
                record = models.AppBskyFeedPost.Record(
                    text=part,
                    created_at=self.clock().isoformat().replace("+00:00", "Z"),
                    langs=[publication.lang],
                    facets=[
                        models.AppBskyRichtextFacet.Main.model_validate(facet)
                        for facet in facets(part, short_links)
                    ]
                    or None,
                    embed=embed,
                    reply=(
                        models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)
                        if root is not None and parent is not None
                        else None
                    ),
                )
                made = await self._create(rkey, record)
            parent = made
            root = root or made
        assert root is not None
        return Sent(
            external_id=root.uri,
            url=f"https://bsky.app/profile/{self.handle}/post/{keys[0]}",
        )

    async def _create(
        self, rkey: str, record: models.AppBskyFeedPost.Record
    ) -> models.ComAtprotoRepoStrongRef.Main:
        assert self.did is not None
        try:
            created = await self.client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(
                    repo=self.did, collection=POST, rkey=rkey, record=record
                )
            )
        except atx.BadRequestError:
            # Refused: when because the key is taken, the post went on an earlier try whose
            # answer was lost. Otherwise it stays refused.
            found = await self._existing(rkey)
            if found is None:
                raise
            return found
        return models.ComAtprotoRepoStrongRef.Main(uri=created.uri, cid=created.cid)

    async def _existing(self, rkey: str) -> models.ComAtprotoRepoStrongRef.Main | None:
        assert self.did is not None
        try:
            found = await self.client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=self.did, collection=POST, rkey=rkey)
            )
        except atx.BadRequestError as error:
            if _error_name(error) == "RecordNotFound":
                return None
            raise
        if found.cid is None:
            return None
        return models.ComAtprotoRepoStrongRef.Main(uri=found.uri, cid=found.cid)

    async def _embed(
        self, publication: Publication, preview: Preview, media: MediaLoader
    ) -> models.AppBskyEmbedImages.Main | models.AppBskyEmbedExternal.Main | None:
        if publication.media:
            return models.AppBskyEmbedImages.Main(
                images=[await self._image(item, media) for item in publication.media]
            )
        if preview.card_url:
            return models.AppBskyEmbedExternal.Main(
                external=models.AppBskyEmbedExternal.External(
                    uri=preview.card_url,
                    title=preview.card_title or "",
                    description=preview.card_description or "",
                )
            )
        return None

    async def _image(self, item: MediaItem, media: MediaLoader) -> models.AppBskyEmbedImages.Image:
        data = load_image(media, item, NAME)
        data, _ = fit_image(data, item.content_type, BLOB_BYTES)
        uploaded = await self.client.upload_blob(data)
        ratio = None
        if item.width and item.height:
            ratio = models.AppBskyEmbedDefs.AspectRatio(width=item.width, height=item.height)
        return models.AppBskyEmbedImages.Image(
            alt=item.alt, image=uploaded.blob, aspect_ratio=ratio
        )

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.request.close()


def _error_name(error: atx.AtProtocolError) -> str:
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    return str(getattr(content, "error", "") or "")


def _classified(error: atx.AtProtocolError, now: datetime) -> SendError:
    """The library's exception as ours: permanent or retried, and when."""
    text = f"bluesky: {type(error).__name__}: {error}"
    if isinstance(error, atx.RateLimitExceededError):
        wait = error.retry_after
        if wait is None and error.reset_at is not None:
            wait = max(0.0, (error.reset_at - now).total_seconds())
        return SendError(text, retry_after_s=wait)
    if isinstance(error, atx.NetworkError | atx.LoginRequiredError):
        return SendError(text)
    if _error_name(error) in _TOKEN_ERRORS:
        return SendError(text)  # a new session on the next try
    if isinstance(error, atx.UnauthorizedError | atx.BadRequestError):
        return SendError(text, permanent=True)
    response: Any = getattr(error, "response", None)
    status = getattr(response, "status_code", 500)
    return SendError(text, permanent=400 <= status < 500 and status != 408)
