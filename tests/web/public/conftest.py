"""The public intake for tests: the real app (case service, media intake, quota) on a store of
its own, run on SQLite and PostgreSQL, a client from a documentation address, and real photos
made with Pillow."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from stadspuls.access.roles import cli_actor
from stadspuls.cases.records import Case
from stadspuls.cases.service import CaseService
from stadspuls.media.intake import MediaIntake
from stadspuls.settings import InboxSettings, Settings
from stadspuls.web.app import create_app
from stadspuls.web.routes.public_pages import CSRF_COOKIE

# A documentation address (RFC 5737): the test proves it is stored nowhere.
CLIENT_ADDRESS = "203.0.113.77"
ADMIN = cli_actor("test")


def jpeg(colour: tuple[int, int, int] = (200, 30, 30), taken: datetime | None = None) -> bytes:
    """A small real JPEG, with EXIF DateTimeOriginal when `taken` is given."""
    image = Image.new("RGB", (64, 48), colour)
    for x in range(0, 64, 8):  # some structure, so that perceptual hashes differ by colour
        for y in range(48):
            image.putpixel((x, y), (colour[2], colour[0], colour[1]))
    out = io.BytesIO()
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


@dataclass
class Public:
    client: TestClient
    engine: sa.Engine
    settings: Settings

    @property
    def cases(self) -> CaseService:
        found: CaseService = self.client.app.state.cases  # type: ignore[attr-defined]
        return found

    def csrf(self) -> str:
        """The form token (GET /melden sets it once per visitor)."""
        if not self.client.cookies.get(CSRF_COOKIE):
            assert self.client.get("/melden").status_code == 200
        token = self.client.cookies.get(CSRF_COOKIE)
        assert token
        return token

    def stored(self) -> list[Case]:
        return self.cases.list_cases(ADMIN, limit=1000)


def public_settings(settings: Settings, engine: sa.Engine, **inbox: object) -> Settings:
    media_dir = settings.key_file.parent.parent / "media"
    return settings.model_copy(
        update={
            "db_url": engine.url.render_as_string(hide_password=False),
            "inbox": InboxSettings.model_validate({"media_dir": media_dir, **inbox}),
        }
    )


@contextmanager
def public_app(settings: Settings, engine: sa.Engine) -> Iterator[FastAPI]:
    """The app, with its decoder processes stopped at the end (the app itself never stops
    them: a test run would leave a pool of workers behind per test)."""
    app = create_app(settings, engine=engine)
    try:
        yield app
    finally:
        media: MediaIntake = app.state.media
        asyncio.run(media.close())


@pytest.fixture
def public(settings: Settings, engine: sa.Engine) -> Iterator[Public]:
    configured = public_settings(settings, engine)
    with (
        public_app(configured, engine) as app,
        TestClient(app, client=(CLIENT_ADDRESS, 50123)) as client,
    ):
        yield Public(client, engine, configured)


def status_link(html: str) -> str:
    """The status page's path on a receipt page."""
    found = re.search(r'href="https?://[^/"]+(/status/[A-Za-z0-9_-]+)"', html)
    assert found, "no status link on the page"
    return found.group(1)
