"""Small builders for records used across tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from stadspuls.records import Post

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


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
