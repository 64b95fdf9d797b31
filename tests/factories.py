"""Small builders for records used across tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.monitors import create
from stadspuls.records import Monitor, Post
from stadspuls.settings import Settings

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


# The options every file import needs (purpose, legal basis, retention), for tests of `ingest`.
IMPORT = ("--purpose", "test", "--basis", "public-task", "--retention-days", "30")


def make_post(n: int, text: str | None = None, **fields: Any) -> Post:
    values: dict[str, Any] = {
        "id": f"test:{n}",
        "source": "test",
        "native_id": str(n),
        "created_at": T0 + timedelta(minutes=n),
        "text": text if text is not None else f"bericht nummer {n} over Stratumseind",
        "author": f"user{n % 7}.bsky.social",
    }
    values.update(fields)
    return Post(**values)


def stored_id(settings: Settings, raw_id: str) -> str:
    """The id under which the door stores the post with platform id `raw_id`."""
    return Pseudonymiser(load_or_create_key(settings.key_file)).post_id(raw_id)


def fire_watch(engine: sa.Engine) -> Monitor:
    """The monitor "brand" (query `kerkstraat`, a fire watch), created in `engine`'s store."""
    fire = Monitor(
        name="brand",
        query="kerkstraat",
        owner="team",
        purpose="fire watch",
        legal_basis="public-task",
        retention_days=30,
    )
    return create(engine, fire)[0]
