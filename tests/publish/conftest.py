"""A publish service on each database, with a clock the test moves, people to act as, and an
in-process target (the real channels' protocol tests are tests/publish/channels' business):
it counts what it was asked to send and fails as told."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from stadspuls.publish.records import Delivery, Preview, Publication
from stadspuls.publish.service import PublishService
from stadspuls.publish.targets import MediaLoader, SendError, Sent
from stadspuls.records import Actor, User
from stadspuls.settings import Settings
from stadspuls.store import users

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeTarget:
    """A channel in the test's process: `fail` holds the errors the next sends raise (one
    each), `hang` makes sends wait until cancelled."""

    def __init__(self, name: str, limit: int | None = 500) -> None:
        self.name = name
        self.limit = limit
        self.sent: list[tuple[int, int]] = []  # (publication id, delivery id)
        self.media: list[bytes] = []
        self.fail: list[SendError | Exception] = []
        self.hang = False
        self.closed = False

    def preview(self, publication: Publication, *, public_url: str | None) -> Preview:
        text = publication.variants.get(self.name) or publication.body
        return Preview(
            target=self.name,
            parts=(text,),
            length=len(text),
            limit=self.limit,
            fits=self.limit is None or len(text) <= self.limit,
            card_url=publication.link or public_url,
        )

    async def send(self, publication: Publication, delivery: Delivery, media: MediaLoader) -> Sent:
        import asyncio

        if self.hang:
            await asyncio.sleep(3600)
        if self.fail:
            raise self.fail.pop(0)
        for item in publication.media:
            self.media.append(media(item.sha256))
        assert publication.id is not None
        self.sent.append((publication.id, delivery.id))
        return Sent(
            external_id=f"{self.name}-{delivery.id}",
            url=f"https://{self.name}.example/{delivery.id}",
        )

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Desk:
    engine: sa.Engine
    settings: Settings
    clock: Clock
    targets: dict[str, FakeTarget]
    service: PublishService
    _actors: dict[str, Actor] = field(default_factory=dict)

    def actor(self, username: str, role: str = "analyst") -> Actor:
        if username not in self._actors:
            user = users.find_user(self.engine, username) or users.create_user(
                self.engine, User(username=username, role=role), password_hash=None
            )
            assert user.id is not None
            self._actors[username] = Actor(
                user_id=user.id, username=username, role=role, via="token"
            )
        return self._actors[username]

    def draft(self, **values: Any) -> Publication:
        defaults: dict[str, Any] = {
            "title": "Brand in Utrecht: sluit ramen en deuren",
            "body": "Er is een grote brand aan de Vaartsche Rijn. Sluit ramen en deuren.",
            "targets": ("news", "mastodon"),
        }
        return Publication(**{**defaults, **values})

    def published(self, **values: Any) -> Publication:
        """Written by ann, approved by chief (an admin): published now."""
        ann, chief = self.actor("ann"), self.actor("chief", "admin")
        created = self.service.create(ann, self.draft(**values))
        assert created.id is not None
        self.service.submit(ann, created.id)
        return self.service.approve(chief, created.id)


def make_desk(engine: sa.Engine, settings: Settings, **publish: Any) -> Desk:
    clock = Clock(NOW)
    targets = {"mastodon": FakeTarget("mastodon", 500), "bluesky": FakeTarget("bluesky", 300)}
    if publish:
        settings = settings.model_copy(
            update={"publish": settings.publish.model_copy(update=publish)}
        )
    service = PublishService(engine, settings, targets=targets, clock=clock)
    return Desk(engine, settings, clock, targets, service)


@pytest.fixture
def desk(engine: sa.Engine, settings: Settings) -> Desk:
    return make_desk(engine, settings, backoff_min_s=5.0, backoff_max_s=60.0)
