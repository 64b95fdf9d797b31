"""Posts as the detectors see them: stored (keyed ids, author pseudonyms), enriched."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from stadspuls.records import Place, Post
from tests.factories import T0

EINDHOVEN = Place(code="GM0772", name="Eindhoven", municipality="Eindhoven", lat=51.44, lon=5.47)
DEN_HAAG = Place(
    code="GM0518", name="'s-Gravenhage", municipality="'s-Gravenhage", lat=52.08, lon=4.31
)


def post(
    n: int,
    text: str,
    *,
    author: str | None = None,
    at: datetime | None = None,
    minutes: float | None = None,
    **fields: Any,
) -> Post:
    """Post number `n` (id "bluesky:<n>"), by pseudonym `author` (default: its own), at `at` or
    T0 + `minutes` (default: n minutes)."""
    when = at if at is not None else T0 + timedelta(minutes=n if minutes is None else minutes)
    values: dict[str, Any] = {
        "id": f"bluesky:{n:08x}",
        "source": "bluesky",
        "native_id": str(n),
        "created_at": when,
        "text": text,
        "author_key": author if author is not None else f"a{n}",
        "lang": "nl",
    }
    values.update(fields)
    return Post(**values)


def background(count: int = 20) -> list[Post]:
    """`count` unrelated posts in the hours before T0: the history a monitor learns its own
    words from (the story detectors raise nothing before they have seen 20 posts)."""
    return [
        post(10_000 + i, f"Notities over onderwerp{i}a en onderwerp{i}b", minutes=-300 + i)
        for i in range(count)
    ]
