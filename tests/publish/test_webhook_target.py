"""Publishing to a signed webhook, received by a local receiver that verifies it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from stadspuls.alerts.webhook import DELIVERY, SIGNATURE, TIMESTAMP, verify
from stadspuls.publish.news import NewsTarget
from stadspuls.publish.targets import SendError
from stadspuls.publish.webhook import WebhookTarget
from stadspuls.settings import WebhookSettings
from tests.publish.channel_support import delivery, item, photo, vault
from tests.support.http import closed_port, serve
from tests.support.webhook_receiver import WebhookReceiver

T = TypeVar("T")
SECRET = b"a-webhook-secret-of-some-length"
NEWS = NewsTarget("https://stad.example.nl")
WHEN = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)


def run(
    tmp_path: Path,
    receiver: WebhookReceiver,
    act: Callable[[WebhookTarget], Awaitable[T]],
    *,
    secret: bytes = SECRET,
) -> T:
    (tmp_path / "secret").write_bytes(secret + b"\n")

    async def main() -> T:
        async with serve(receiver.app) as url:
            hook = WebhookSettings(
                name="website", url=f"{url}/hooks/stadspuls", secret_file=tmp_path / "secret"
            )
            target = WebhookTarget(hook, NEWS, timeout_s=5)
            try:
                return await act(target)
            finally:
                await target.aclose()

    return asyncio.run(main())


def test_the_publication_arrives_signed_with_its_images_and_links(tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET)
    publication = item(
        "Ramen dicht.",
        variants={"webhook:website": "Ramen en deuren dicht, ventilatie uit."},
        media=(photo("d" * 64),),
        published_at=WHEN,
    )

    async def send(target: WebhookTarget) -> tuple[str, str | None, str]:
        sent = await target.send(publication, delivery(77, "webhook:website"), vault({}))
        return sent.external_id, sent.url, target.name

    external_id, url, name = run(tmp_path, receiver, send)
    assert name == "webhook:website"
    assert external_id == "publish-77"
    assert url == "https://www.gemeente.example/actueel/12"
    assert receiver.refused == 0
    body = receiver.accepted["publish-77"]
    news = "https://stad.example.nl/nieuws/12-brand-in-de-kerkstraat"
    assert body == {
        "event": "publication.published",
        "delivery_id": "publish-77",
        "publication": {
            "id": 12,
            "title": "Brand in de Kerkstraat",
            "body": "Ramen en deuren dicht, ventilatie uit.",
            "link": news,
            "url": news,
            "lang": "nl",
            "published_at": "2026-12-01T21:30:00+00:00",
            "targets": ["news", "mastodon", "bluesky"],
            "media": [
                {
                    "sha256": "d" * 64,
                    "content_type": "image/jpeg",
                    "alt": "Rook boven de Kerkstraat",
                    "width": None,
                    "height": None,
                    "url": f"https://stad.example.nl/nieuws/12/beeld/{'d' * 64}",
                }
            ],
        },
    }


def test_without_the_news_page_there_is_no_news_url(tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET)
    publication = item("Tekst", targets=("webhook:website",), media=(photo("e" * 64),))
    run(tmp_path, receiver, lambda t: t.send(publication, delivery(5), vault({})))
    sent = receiver.accepted["publish-5"]["publication"]
    assert sent["url"] is None
    assert sent["link"] is None
    assert sent["media"][0]["url"] is None


def test_a_retry_carries_the_same_delivery_id_and_the_receiver_keeps_one(tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET)
    publication = item("Tekst")

    async def twice(target: WebhookTarget) -> None:
        await target.send(publication, delivery(9), vault({}))
        await target.send(publication, delivery(9), vault({}))

    run(tmp_path, receiver, twice)
    assert receiver.attempts == 2
    assert [h[DELIVERY.lower()] for h in receiver.headers] == ["publish-9", "publish-9"]
    assert list(receiver.accepted) == ["publish-9"]


def test_the_signature_is_the_alert_webhooks_own(tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET)
    run(tmp_path, receiver, lambda t: t.send(item("Tekst"), delivery(3), vault({})))
    (headers,) = receiver.headers
    stamp, signature = headers[TIMESTAMP.lower()], headers[SIGNATURE.lower()]
    assert signature.startswith("sha256=")
    assert list(receiver.accepted) == ["publish-3"]  # verified with the shared secret
    assert not verify(b"another-secret-entirely-123", stamp, b"{}", signature)


def test_a_refused_signature_is_permanent(tmp_path: Path) -> None:
    receiver = WebhookReceiver(b"the-receivers-own-secret-x")
    with pytest.raises(SendError) as caught:
        run(tmp_path, receiver, lambda t: t.send(item("Tekst"), delivery(), vault({})))
    assert caught.value.permanent
    assert "401" in str(caught.value)


def test_errors_are_classified(tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET)

    async def attempts(target: WebhookTarget) -> list[SendError]:
        errors = []
        for code in (429, 500, 503, 408, 404, 410):
            receiver.fail = [code]
            try:
                await target.send(item("Tekst"), delivery(), vault({}))
            except SendError as error:
                errors.append(error)
        return errors

    limited, failed, unavailable, timeout, missing, gone = run(tmp_path, receiver, attempts)
    assert not limited.permanent
    assert limited.retry_after_s == 42
    assert not failed.permanent
    assert not unavailable.permanent
    assert not timeout.permanent
    assert missing.permanent
    assert gone.permanent
    assert receiver.accepted == {}


def test_a_receiver_that_is_down_is_retried(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(SECRET)
    hook = WebhookSettings(
        name="website",
        url=f"http://127.0.0.1:{closed_port()}/hooks",
        secret_file=tmp_path / "secret",
    )

    async def main() -> None:
        target = WebhookTarget(hook, NEWS)
        try:
            await target.send(item("Tekst"), delivery(), vault({}))
        finally:
            await target.aclose()

    with pytest.raises(SendError) as caught:
        asyncio.run(main())
    assert not caught.value.permanent
    assert "ConnectError" in str(caught.value)


def test_a_missing_secret_fails_each_send_permanently(tmp_path: Path) -> None:
    hook = WebhookSettings(
        name="website", url="http://127.0.0.1:9/hooks", secret_file=tmp_path / "missing"
    )

    async def main() -> None:
        target = WebhookTarget(hook, NEWS)
        try:
            await target.send(item("Tekst"), delivery(), vault({}))
        finally:
            await target.aclose()

    with pytest.raises(SendError) as caught:
        asyncio.run(main())
    assert caught.value.permanent
    assert "secret_file" in str(caught.value)


def test_the_preview_is_the_whole_text_with_the_link() -> None:
    hook = WebhookSettings(name="website", url="http://127.0.0.1:9/", secret_env="NOT_SET_X")

    async def preview() -> None:
        target = WebhookTarget(hook, NEWS)
        try:
            shown = target.preview(item("Lange tekst " * 100), public_url=None)
            assert shown.target == "webhook:website"
            assert shown.limit is None
            assert shown.fits
            assert shown.parts == (("Lange tekst " * 100).strip(),)
            assert shown.card_url == "https://stad.example.nl/nieuws/12-brand-in-de-kerkstraat"
        finally:
            await target.aclose()

    asyncio.run(preview())
