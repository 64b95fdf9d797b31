"""The P2000 import on the real logs in ../shared/data/p2000 (skipped without them): every row
is imported and stored, none merged with another, in UTC, in Dutch, without capcodes in the text.

The logs span 4–17 October 2015 (summer time, UTC+2) and 11 December–14 January (UTC+1); no
clock change falls inside them, so the hour that happens twice is tested on tests/fixtures
(test_p2000.py); here each time must be its wall-clock time less the offset of its date.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from stadspuls.enrich.base import Enricher
from stadspuls.enrich.dedup import Deduplicator
from stadspuls.enrich.language import LanguageIdentifier
from stadspuls.enrich.normalize import Normaliser
from stadspuls.enrich.pseudonymise import Pseudonymiser
from stadspuls.records import Post
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import detect_format, iter_file
from stadspuls.store.database import open_store
from stadspuls.store.posts import list_posts
from stadspuls.store.writer import Batch, PostWriter
from tests.conftest import shared_data_path

LOGS = (
    "haaglanden_rotterdam_2019_2020.csv",
    "nye_2017_2020_fire.csv",
    "national_oct2015.csv",
)
_TRAILING_CAPCODE = re.compile(r"\s\d{6,7}$")


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("name", LOGS)
def test_real_p2000_log_imports_whole(name: str, tmp_path: Path) -> None:
    path = shared_data_path("p2000", name)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert detect_format(path) == "p2000"
    stats = SourceStats()
    posts = [p for p in iter_file(path, stats=stats) if isinstance(p, Post)]
    assert (stats.malformed, stats.posts) == (0, len(rows))
    assert len({p.id for p in posts}) == len(rows)  # nothing merged

    for row, post in zip(rows, posts, strict=True):
        wall = datetime.fromisoformat(row["created_at"])
        summer = wall.month in (4, 5, 6, 7, 8, 9, 10) and wall < datetime(wall.year, 10, 25)
        offset = timedelta(hours=2 if summer else 1)
        assert post.created_at.replace(tzinfo=None) == wall - offset, row
        meta = post.meta or {}
        assert meta["service"] == row["service"]
        for capcode in meta.get("capcodes", []):
            assert capcode not in post.text.split(), row
        assert not _TRAILING_CAPCODE.search(post.text), row
        assert not re.fullmatch(r"\d{6,7}", post.text), row

    door: list[Enricher] = [
        Normaliser(),
        Pseudonymiser(b"k" * 32),
        LanguageIdentifier(),
        Deduplicator(),
    ]
    for enricher in door:
        posts = enricher(posts)
    assert {p.lang for p in posts} == {"nl"}
    engine = open_store(f"sqlite:///{tmp_path / 'p2000.db'}")
    try:
        with PostWriter(engine) as writer:
            assert writer.write(Batch(posts=posts)).inserted == len(rows)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM posts")).scalar() == len(rows)
        stored = list_posts(engine, limit=50)
        assert all(p.meta and p.meta["service"] for p in stored)
    finally:
        engine.dispose()
