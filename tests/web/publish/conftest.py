"""A newsroom: the real app with its real publish service (the news target; no social accounts
configured), an author (analyst), two approvers (admins) and a viewer, each a browser-like
client with a session cookie, and images decoded by the real media intake."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from stadspuls.publish.service import PublishService
from stadspuls.records import Actor
from stadspuls.settings import Settings
from stadspuls.store import users
from stadspuls.web.app import create_app
from stadspuls.web.auth import SESSION_COOKIE
from tests.support.accounts import bearer

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PEOPLE = (("anna", "analyst"), ("beheer", "admin"), ("chef", "admin"), ("kees", "viewer"))


@dataclass
class Newsroom:
    app: FastAPI
    engine: sa.Engine
    service: PublishService

    def session(self, name: str) -> TestClient:
        user = users.find_user(self.engine, name)
        assert user is not None
        assert user.id is not None
        token, _csrf = users.create_session(self.engine, user.id, ttl_s=3600)
        client = TestClient(self.app, follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, token)
        return client

    def actor(self, name: str) -> Actor:
        user = users.find_user(self.engine, name)
        assert user is not None
        return Actor(user_id=user.id, username=name, role=user.role, via="token")

    def public(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no csrf field on the page"
    return found.group(1)


def jpeg(width: int = 320, height: int = 200) -> bytes:
    image = Image.new("RGB", (width, height), (20, 90, 170))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def newsroom(settings: Settings, engine: sa.Engine, tmp_path: Path) -> Iterator[Newsroom]:
    settings = settings.model_copy(
        update={
            "inbox": settings.inbox.model_copy(
                update={"media_dir": tmp_path / "media", "public_url": "https://gemeente.example"}
            )
        }
    )
    for name, role in PEOPLE:
        bearer(engine, role, name=name)
    app = create_app(settings, engine=engine)
    yield Newsroom(app, engine, app.state.publish)
    app.state.media.decoder.close()  # the decoder's worker processes
