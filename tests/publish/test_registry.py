"""The targets an installation has, from its settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pydantic
import pytest
import sqlalchemy as sa

from stadspuls.publish.bluesky import BlueskyTarget
from stadspuls.publish.mastodon import MastodonTarget
from stadspuls.publish.news import NewsTarget
from stadspuls.publish.registry import build_targets
from stadspuls.publish.targets import PublishTarget
from stadspuls.publish.webhook import WebhookTarget
from stadspuls.settings import (
    BlueskyAccountSettings,
    InboxSettings,
    MastodonAccountSettings,
    PublishSettings,
    Settings,
    WebhookSettings,
)
from tests.publish.channel_support import item


def _close(targets: dict[str, PublishTarget]) -> None:
    async def close() -> None:
        for target in targets.values():
            await target.aclose()

    asyncio.run(close())


def test_without_accounts_there_is_only_the_news_page(settings: Settings) -> None:
    targets = build_targets(settings, sa.create_engine("sqlite://"))
    try:
        assert list(targets) == ["news"]
        news = targets["news"]
        assert isinstance(news, NewsTarget)
        # The public address of the citizens' pages, else this server's own.
        assert news.url_of(item("x")) == "http://127.0.0.1:8000/nieuws/12-brand-in-de-kerkstraat"
    finally:
        _close(targets)


def test_every_configured_channel_is_a_target(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t")
    (tmp_path / "password").write_text("p")
    (tmp_path / "hook.key").write_text("a-webhook-secret-of-some-length")
    configured = settings.model_copy(
        update={
            "inbox": InboxSettings(
                public_url="https://meldingen.gemeente.example/",
                mastodon=MastodonAccountSettings(
                    base_url="https://mastodon.example", access_token_file=tmp_path / "token"
                ),
                bluesky=BlueskyAccountSettings(
                    handle="gemeente.bsky.social", app_password_file=tmp_path / "password"
                ),
            ),
            "webhooks": [
                WebhookSettings(
                    name="website", url="https://www.example/h", secret_file=tmp_path / "hook.key"
                ),
                WebhookSettings(name="duty", url="https://duty.example/h", secret_env="X_Y_Z"),
            ],
            "publish": PublishSettings(webhooks=["website"]),
        }
    )
    targets = build_targets(configured, sa.create_engine("sqlite://"))
    try:
        assert sorted(targets) == ["bluesky", "mastodon", "news", "webhook:website"]
        assert isinstance(targets["mastodon"], MastodonTarget)
        assert isinstance(targets["bluesky"], BlueskyTarget)
        webhook = targets["webhook:website"]
        assert isinstance(webhook, WebhookTarget)
        assert webhook.url == "https://www.example/h"
        assert {name: target.name for name, target in targets.items()} == {
            name: name for name in targets
        }
        news = targets["news"]
        assert isinstance(news, NewsTarget)
        assert news.base_url == "https://meldingen.gemeente.example"
        assert targets["bluesky"].limit == 300
        assert targets["mastodon"].limit == 500
        assert targets["news"].limit is None
    finally:
        _close(targets)


def test_a_publish_webhook_must_be_a_configured_webhook(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match=r"publish\.webhooks names no webhook: site"):
        Settings(
            db_url="sqlite://",
            key_file=tmp_path / "k",
            mastodon=[],
            feeds=[],
            publish=PublishSettings(webhooks=["site"]),
        )
