"""Publishing to Mastodon against a local server that answers as Mastodon 4 does."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from stadspuls.publish.mastodon import MastodonTarget
from stadspuls.publish.news import NewsTarget
from stadspuls.publish.preview import mastodon_length
from stadspuls.publish.targets import SendError
from stadspuls.settings import MastodonAccountSettings
from tests.publish.channel_support import delivery, item, jpeg, photo, vault
from tests.support.http import closed_port, serve
from tests.support.mastodon_publish_server import TOKEN, MastodonPublishServer

T = TypeVar("T")
NEWS = NewsTarget("https://stad.example.nl")


def run(
    tmp_path: Path,
    server: MastodonPublishServer,
    act: Callable[[MastodonTarget], Awaitable[T]],
    *,
    token: str = TOKEN,
) -> T:
    (tmp_path / "token").write_text(token + "\n")

    async def main() -> T:
        async with serve(server.app) as url:
            account = MastodonAccountSettings(base_url=url, access_token_file=tmp_path / "token")
            target = MastodonTarget(account, NEWS, media_poll_s=0.01)
            try:
                return await act(target)
            finally:
                await target.aclose()

    return asyncio.run(main())


def test_an_image_with_its_alt_text_is_uploaded_processed_and_attached(tmp_path: Path) -> None:
    server = MastodonPublishServer(processing_polls=2)
    image = jpeg()
    publication = item("Ramen en deuren dicht.", media=(photo("a" * 64),), lang="nl")
    sent = run(
        tmp_path, server, lambda t: t.send(publication, delivery(), vault({"a" * 64: image}))
    )
    (status,) = server.statuses
    assert sent.external_id == status["id"]
    assert sent.url == f"https://mastodon.test/@gemeente/{status['id']}"
    assert status["visibility"] == "public"
    assert status["language"] == "nl"
    # No own link: the news page is the link, added to the text.
    assert status["text"] == (
        "Ramen en deuren dicht.\n\nhttps://stad.example.nl/nieuws/12-brand-in-de-kerkstraat"
    )
    (attachment,) = status["media_attachments"]
    assert attachment["description"] == "Rook boven de Kerkstraat"
    assert server.uploads[attachment["id"]] == image
    assert server.polls[attachment["id"]] == 3  # two answers of 206, then 200
    paths = [r["path"] for r in server.requests]
    assert paths.count(f"/api/v1/media/{attachment['id']}") == 3


def test_the_same_delivery_sent_twice_posts_once(tmp_path: Path) -> None:
    server = MastodonPublishServer()
    publication = item("Ramen en deuren dicht.")

    async def twice(target: MastodonTarget) -> tuple[str, str]:
        first = await target.send(publication, delivery(31), vault({}))
        again = await target.send(publication, delivery(31), vault({}))
        return first.external_id, again.external_id

    first, again = run(tmp_path, server, twice)
    assert first == again
    assert len(server.statuses) == 1
    keys = [r["idempotency_key"] for r in server.requests if r["path"] == "/api/v1/statuses"]
    assert keys == ["stadspuls-publish-31-1", "stadspuls-publish-31-1"]


def test_a_long_text_becomes_a_chained_thread_with_the_images_on_the_first_part(
    tmp_path: Path,
) -> None:
    server = MastodonPublishServer(processing_polls=0)
    body = " ".join(f"Zin {n} over de brand in de Kerkstraat, houd ramen dicht." for n in range(30))
    publication = item(body, media=(photo("b" * 64),), link="https://www.gemeente.nl/brand")
    sent = run(
        tmp_path, server, lambda t: t.send(publication, delivery(), vault({"b" * 64: jpeg()}))
    )
    statuses = server.statuses
    assert len(statuses) >= 3
    assert sent.external_id == statuses[0]["id"]
    assert statuses[0]["in_reply_to_id"] is None
    for parent, child in itertools.pairwise(statuses):
        assert child["in_reply_to_id"] == parent["id"]
    for number, status in enumerate(statuses, start=1):
        assert status["text"].endswith(f"({number}/{len(statuses)})")
        assert mastodon_length(status["text"]) <= 500
    assert len(statuses[0]["media_attachments"]) == 1
    assert all(not s["media_attachments"] for s in statuses[1:])
    assert "https://www.gemeente.nl/brand" in statuses[-1]["text"]


def test_the_instances_own_limit_is_used(tmp_path: Path) -> None:
    server = MastodonPublishServer(max_characters=120)
    body = "Houd ramen en deuren dicht, zet de ventilatie uit. " * 4

    async def send(target: MastodonTarget) -> int | None:
        await target.send(item(body, targets=("mastodon",)), delivery(), vault({}))
        return target.limit

    assert run(tmp_path, server, send) == 120
    assert len(server.statuses) > 1
    assert all(len(s["text"]) <= 120 for s in server.statuses)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (401, "The access token is invalid"),
        (403, "This action is not allowed"),
        (404, "Record not found"),
        (422, "Validation failed"),
    ],
)
def test_refusals_are_permanent_with_the_servers_words(
    tmp_path: Path, code: int, words: str
) -> None:
    server = MastodonPublishServer()
    server.fail, server.fail_path = [code], "/api/v1/statuses"
    with pytest.raises(SendError) as caught:
        run(tmp_path, server, lambda t: t.send(item("Tekst"), delivery(), vault({})))
    assert caught.value.permanent
    assert words in str(caught.value)
    assert str(code) in str(caught.value)
    assert server.statuses == []


def test_a_wrong_token_is_permanent(tmp_path: Path) -> None:
    server = MastodonPublishServer()
    with pytest.raises(SendError) as caught:
        run(tmp_path, server, lambda t: t.send(item("Tekst"), delivery(), vault({})), token="x")
    assert caught.value.permanent
    assert "The access token is invalid" in str(caught.value)


def test_a_429_says_when_to_come_back_and_a_5xx_is_retried_without_posting_twice(
    tmp_path: Path,
) -> None:
    server = MastodonPublishServer()
    publication = item("Ramen en deuren dicht.")

    async def attempts(target: MastodonTarget) -> list[SendError]:
        errors = []
        server.fail = [429]
        for fail in ([429], [500], [503]):
            server.fail = fail
            try:
                await target.send(publication, delivery(), vault({}))
            except SendError as error:
                errors.append(error)
        await target.send(publication, delivery(), vault({}))
        await target.send(publication, delivery(), vault({}))  # the answer was lost: again
        return errors

    limited, down, unavailable = run(tmp_path, server, attempts)
    assert not limited.permanent
    assert limited.retry_after_s is not None
    assert 60 <= limited.retry_after_s <= 91
    assert not down.permanent
    assert down.retry_after_s is None
    assert not unavailable.permanent
    assert len(server.statuses) == 1


def test_a_server_that_is_down_is_retried(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN)
    account = MastodonAccountSettings(
        base_url=f"http://127.0.0.1:{closed_port()}", access_token_file=tmp_path / "token"
    )

    async def main() -> None:
        target = MastodonTarget(account, NEWS)
        try:
            await target.send(item("Tekst"), delivery(), vault({}))
        finally:
            await target.aclose()

    with pytest.raises(SendError) as caught:
        asyncio.run(main())
    assert not caught.value.permanent
    assert "ConnectError" in str(caught.value)


def test_an_unreadable_token_fails_each_send_permanently(tmp_path: Path) -> None:
    account = MastodonAccountSettings(
        base_url="http://127.0.0.1:9", access_token_file=tmp_path / "missing"
    )

    async def main() -> None:
        target = MastodonTarget(account, NEWS)
        try:
            await target.send(item("Tekst"), delivery(), vault({}))
        finally:
            await target.aclose()

    with pytest.raises(SendError) as caught:
        asyncio.run(main())
    assert caught.value.permanent
    assert "access_token_file" in str(caught.value)


def test_a_text_too_long_for_a_thread_is_refused_before_anything_is_posted(
    tmp_path: Path,
) -> None:
    server = MastodonPublishServer()
    with pytest.raises(SendError) as caught:
        run(tmp_path, server, lambda t: t.send(item("woord " * 2000), delivery(), vault({})))
    assert caught.value.permanent
    assert server.statuses == []
    assert "Too long" in str(caught.value)


def test_an_image_over_the_instances_size_limit_is_made_smaller(tmp_path: Path) -> None:
    server = MastodonPublishServer(processing_polls=0, image_size_limit=300_000)
    large = jpeg(900, 700, noise=True)
    assert len(large) > 300_000
    publication = item("Foto van de schade.", media=(photo("f" * 64),))
    run(tmp_path, server, lambda t: t.send(publication, delivery(), vault({"f" * 64: large})))
    (status,) = server.statuses
    (attachment,) = status["media_attachments"]
    assert len(server.uploads[attachment["id"]]) <= 300_000
    assert attachment["content_type"] == "image/jpeg"


def test_a_server_without_v2_media_gets_the_image_through_v1(tmp_path: Path) -> None:
    server = MastodonPublishServer(v2_media=False)
    publication = item("Ramen dicht.", media=(photo("a" * 64),))
    run(tmp_path, server, lambda t: t.send(publication, delivery(), vault({"a" * 64: jpeg()})))
    (status,) = server.statuses
    assert status["media_attachments"][0]["description"] == "Rook boven de Kerkstraat"
    paths = [r["path"] for r in server.requests]
    assert paths[:3] == ["/api/v2/instance", "/api/v2/media", "/api/v1/media"]
    assert not any(p.startswith("/api/v1/media/") for p in paths)  # ready at once: no polling
