"""Publishing to a signed webhook (target "webhook:NAME"): a website, an app's push service or
a partner's system receives each publication as JSON, POSTed and signed exactly as alert
webhooks are (`alerts.webhook`: the same named `webhooks` settings, secret and signature), so a
receiver verifies both kinds one way.

The body: {"event": "publication.published", "delivery_id", "publication": {id, title, body
(the target's variant, else the body), link, url (our news page, when it is there), lang,
published_at, targets, media: [{sha256, content_type, alt, width, height, url}]}}. An image's
url is on our news page, so only when the publication goes there too.

Delivery is at least once: every retry of one delivery carries the same X-Stadspuls-Delivery
("publish-<delivery id>"), by which the receiver drops a repeat. A 2xx answer is delivered; a
receiver may answer {"url": ...} to say where the public sees it. 429 (Retry-After), 408, 5xx
and connection failures are retried; any other answer is permanent (a wrong address, a refused
signature), as a retry would be answered the same.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import msgspec

from stadspuls.alerts.webhook import (
    DELIVERY,
    EVENT,
    SIGNATURE,
    TIMESTAMP,
    USER_AGENT,
    ChannelError,
    load_secret,
    sign,
)
from stadspuls.publish.news import NewsTarget
from stadspuls.publish.preview import card_link, text_for, whole_preview
from stadspuls.publish.records import Delivery, Preview, Publication
from stadspuls.publish.targets import MediaLoader, SendError, Sent
from stadspuls.settings import WebhookSettings

PREFIX = "webhook:"
KIND = "publication.published"
TIMEOUT_S = 20.0


def delivery_header(delivery: Delivery) -> str:
    return f"publish-{delivery.id}"


def payload(
    publication: Publication, delivery: Delivery, *, target: str, news: NewsTarget
) -> dict[str, Any]:
    """The JSON a receiver gets (see the module's text)."""
    news_url = news.url_of(publication) if "news" in publication.targets else None
    media = [
        {
            "sha256": item.sha256,
            "content_type": item.content_type,
            "alt": item.alt,
            "width": item.width,
            "height": item.height,
            "url": (
                f"{news.base_url}/nieuws/{publication.id}/beeld/{item.sha256}" if news_url else None
            ),
        }
        for item in publication.media
    ]
    published = publication.published_at
    return {
        "event": KIND,
        "delivery_id": delivery_header(delivery),
        "publication": {
            "id": publication.id,
            "title": publication.title,
            "body": text_for(publication, target, None),
            "link": card_link(publication, news_url),
            "url": news_url,
            "lang": publication.lang,
            "published_at": published.isoformat() if published else None,
            "targets": list(publication.targets),
            "media": media,
        },
    }


class WebhookTarget:
    limit: int | None = None

    def __init__(
        self,
        hook: WebhookSettings,
        news: NewsTarget,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.name = PREFIX + hook.name
        self.url = hook.url
        self.news = news
        # A secret that cannot be read fails each send (permanently), not the start-up.
        self.secret: bytes | None = None
        self.secret_error: str | None = None
        try:
            self.secret = load_secret(hook)
        except ChannelError as error:
            self.secret_error = str(error)
        self.client = client or httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    def preview(self, publication: Publication, *, public_url: str | None) -> Preview:
        news_url = public_url or self.news.preview_url(publication)
        link = card_link(publication, news_url if "news" in publication.targets else None)
        return whole_preview(self.name, publication, link=link)

    async def send(self, publication: Publication, delivery: Delivery, media: MediaLoader) -> Sent:
        del media  # receivers fetch the images from the news page
        if self.secret is None:
            raise SendError(f"{self.name}: {self.secret_error}", permanent=True)
        body = msgspec.json.encode(payload(publication, delivery, target=self.name, news=self.news))
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE: sign(self.secret, stamp, body),
            TIMESTAMP: stamp,
            DELIVERY: delivery_header(delivery),
            EVENT: KIND,
        }
        try:
            answer = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise SendError(f"{self.name}: {type(error).__name__}: {error}") from error
        code = answer.status_code
        if code == 429:
            wait = answer.headers.get("retry-after", "")
            raise SendError(
                f"{self.name}: rate limited (429)",
                retry_after_s=float(wait) if wait.isdigit() else None,
            )
        if code == 408 or code >= 500:
            raise SendError(f"{self.name}: answered {code}")
        if not answer.is_success:
            raise SendError(f"{self.name}: answered {code}: {answer.text[:200]}", permanent=True)
        return Sent(external_id=delivery_header(delivery), url=_answered_url(answer))

    async def aclose(self) -> None:
        await self.client.aclose()


def _answered_url(answer: httpx.Response) -> str | None:
    if "json" not in answer.headers.get("content-type", ""):
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    url = body.get("url") if isinstance(body, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
