"""run_publishing as `stadspuls run` starts it: a scheduled publication released at its time
and sent through the configured targets, which are closed when it stops."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from stadspuls.publish import runner
from stadspuls.publish.records import Publication
from stadspuls.publish.service import PublishService
from stadspuls.records import Actor
from stadspuls.settings import Settings
from tests.publish.conftest import FakeTarget

ANN = Actor(user_id=None, username="ann", role="analyst", via="token")
CHIEF = Actor(user_id=None, username="chief", role="admin", via="token")


def test_run_publishing_releases_and_sends_then_closes(
    engine: sa.Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = FakeTarget("mastodon")
    monkeypatch.setattr(runner, "build_targets", lambda settings, engine: {"mastodon": target})
    settings = settings.model_copy(
        update={"publish": settings.publish.model_copy(update={"poll_s": 0.05})}
    )
    service = PublishService(engine, settings, targets={"mastodon": target})
    at = service.clock() + timedelta(seconds=1)
    draft = Publication(title="Brand", body="Sluit ramen.", targets=("mastodon",), scheduled_at=at)
    created = service.create(ANN, draft)
    assert created.id is not None
    service.submit(ANN, created.id)
    assert service.approve(CHIEF, created.id).state == "approved"

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(runner.run_publishing(engine, settings, stop))
        began = time.monotonic()
        while not target.sent:
            assert time.monotonic() - began < 20, "not sent"
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, 10)

    asyncio.run(scenario())
    assert service.clock() >= at
    assert [p for p, _ in target.sent] == [created.id]
    assert target.closed
    assert service.get(ANN, created.id).state == "published"
