"""An intake with its own vault and a small decoder pool, shared by a module's tests (a pool's
first start costs about a second)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from stadspuls.cases.records import AcceptedMedia
from stadspuls.media.intake import MediaIntake
from stadspuls.settings import InboxSettings
from tests.media.photos import chunks


def make_intake(media_dir: Path, **changes: object) -> MediaIntake:
    settings = InboxSettings.model_validate(
        {"media_dir": media_dir, "decode_workers": 2, **changes}
    )
    return MediaIntake(settings)


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaIntake]:
    found = make_intake(tmp_path_factory.mktemp("media"))
    yield found
    asyncio.run(found.close())


def accept(
    intake: MediaIntake, data: bytes, filename: str = "foto.jpg", declared: str | None = None
) -> AcceptedMedia:
    return asyncio.run(intake.accept(chunks(data), filename=filename, declared_type=declared))
