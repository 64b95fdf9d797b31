"""The real channels behind the real outbox: one publication with an image, approved by a
second person, goes to the news page, Mastodon, Bluesky and a webhook (local servers speaking
the real APIs); Mastodon is down at first and is retried without holding up the others, and
no channel gets it twice."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from stadspuls.media.vault import Vault
from stadspuls.publish.outbox import PublishOutbox
from stadspuls.publish.records import MediaItem, Publication
from stadspuls.publish.registry import build_targets
from stadspuls.publish.runner import vault_loader
from stadspuls.publish.service import PublishService
from stadspuls.records import Actor, User
from stadspuls.settings import (
    BlueskyAccountSettings,
    MastodonAccountSettings,
    Settings,
    WebhookSettings,
)
from stadspuls.store import users
from tests.publish.channel_support import jpeg
from tests.support.bluesky_pds_server import HANDLE, PASSWORD, BlueskyPds
from tests.support.http import serve
from tests.support.mastodon_publish_server import TOKEN, MastodonPublishServer
from tests.support.webhook_receiver import WebhookReceiver

SECRET = b"a-webhook-secret-of-some-length"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _actor(engine: sa.Engine, username: str, role: str) -> Actor:
    user = users.create_user(engine, User(username=username, role=role), password_hash=None)
    assert user.id is not None
    return Actor(user_id=user.id, username=username, role=role, via="token")


def _configured(settings: Settings, tmp_path: Path, urls: dict[str, str]) -> Settings:
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "hook.key").write_bytes(SECRET)
    inbox = settings.inbox.model_copy(
        update={
            "public_url": "https://stad.example.nl",
            "media_dir": tmp_path / "media",
            "mastodon": MastodonAccountSettings(
                base_url=urls["mastodon"], access_token_file=tmp_path / "token"
            ),
            "bluesky": BlueskyAccountSettings(
                service=urls["bluesky"], handle=HANDLE, app_password_file=tmp_path / "password"
            ),
        }
    )
    hook = WebhookSettings(
        name="website", url=urls["webhook"] + "/hooks/stadspuls", secret_file=tmp_path / "hook.key"
    )
    publish = settings.publish.model_copy(
        update={"webhooks": ["website"], "backoff_min_s": 5.0, "backoff_max_s": 60.0}
    )
    return settings.model_copy(update={"inbox": inbox, "webhooks": [hook], "publish": publish})


def test_one_publication_reaches_every_channel_once(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    mastodon, pds = MastodonPublishServer(processing_polls=1), BlueskyPds()
    receiver = WebhookReceiver(SECRET)
    image = jpeg(120, 80)

    async def main() -> tuple[Publication, list[dict[str, str | None]]]:
        async with (
            serve(mastodon.app) as mastodon_url,
            serve(pds.app) as pds_url,
            serve(receiver.app) as hook_url,
        ):
            urls = {"mastodon": mastodon_url, "bluesky": pds_url, "webhook": hook_url}
            configured = _configured(settings, tmp_path, urls)
            vault = Vault(configured.inbox.media_dir)
            received = tmp_path / "upload.jpg"
            received.write_bytes(image)
            sha256 = hashlib.sha256(image).hexdigest()
            vault.keep(received, sha256)
            targets = build_targets(configured, engine)
            clock = Clock()
            service = PublishService(engine, configured, targets=targets, clock=clock)
            assert service.available_targets() == [
                "bluesky",
                "mastodon",
                "news",
                "webhook:website",
            ]
            author, chief = _actor(engine, "ann", "analyst"), _actor(engine, "chief", "admin")
            draft = Publication(
                title="Brand in de Kerkstraat: ramen dicht",
                body="Door een brand in de Kerkstraat is er veel rook. Houd ramen en deuren "
                "dicht. #Kerkstraat",
                targets=("news", "mastodon", "bluesky", "webhook:website"),
                media=(
                    MediaItem(sha256=sha256, content_type="image/jpeg", alt="Rook boven de stad"),
                ),
            )
            created = service.create(author, draft)
            assert created.id is not None
            service.submit(author, created.id)
            published = service.approve(chief, created.id)
            box = PublishOutbox(service, targets, vault_loader(configured), rng=lambda: 0.5)
            try:
                mastodon.fail = [503]  # down for the first pass
                first = await box.send_due()
                assert first == {"sent": 3, "retry": 1}
                assert mastodon.statuses == []
                clock.now += timedelta(minutes=5)
                second = await box.send_due()
                assert second == {"sent": 1}
                clock.now += timedelta(hours=1)
                assert await box.send_due() == {}
            finally:
                for target in targets.values():
                    await target.aclose()
            rows = [
                {"target": d.target, "state": d.state, "external_id": d.external_id, "url": d.url}
                for d in service.deliveries(author, created.id)
            ]
            return published, rows

    published, rows = asyncio.run(main())
    by_target = {row["target"]: row for row in rows}
    assert {row["state"] for row in rows} == {"sent"}
    news_url = f"https://stad.example.nl/nieuws/{published.id}-{published.slug}"
    assert by_target["news"]["url"] == news_url
    (status,) = mastodon.statuses
    assert by_target["mastodon"]["external_id"] == status["id"]
    assert status["media_attachments"][0]["description"] == "Rook boven de stad"
    assert news_url in str(status["text"])
    (post,) = pds.posts
    assert by_target["bluesky"]["external_id"] == post["uri"]
    assert post["value"]["embed"]["images"][0]["alt"] == "Rook boven de stad"
    (accepted,) = receiver.accepted.values()
    assert accepted["publication"]["url"] == news_url
    assert (
        by_target["webhook:website"]["url"]
        == f"https://www.gemeente.example/actueel/{published.id}"
    )
