"""Normalise once: the door folds each text once and hands the writer the full-text body."""

from __future__ import annotations

from pathlib import Path

import msgspec
import sqlalchemy as sa

from stadspuls.enrich.door import build_door
from stadspuls.enrich.forms import TextForms
from stadspuls.query.text import index_text
from stadspuls.records import Post
from stadspuls.settings import BlueskySettings, Settings
from stadspuls.store.writer import Batch, PostWriter
from tests.factories import make_post

TEXTS = [
    "Grote brand in een loods aan de Industrieweg in Lochem",
    "RT @Brandweer_NL: Café #Zürich ＃tag ½ ﬁets Straße https://t.co/x",
    "#P2000 @politie.bsky.social wi-fi e-mail@example.org",
    "",
]


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        key_file=tmp_path / "key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
        enrichers=[],
    )


def test_text_forms_give_what_index_text_gives() -> None:
    forms = TextForms(limit=2)  # also past its limit
    for text in [*TEXTS, *TEXTS]:
        assert forms.index_body(text) == index_text(text)


def test_the_door_carries_the_index_body_of_the_final_text(tmp_path: Path) -> None:
    door = build_door(_settings(tmp_path))
    out = door([make_post(n, text) for n, text in enumerate(TEXTS)])
    # The body is that of the text as stored: normalised, mentions pseudonymised.
    assert [p.index_body for p in out] == [index_text(p.text) for p in out]
    assert "brandweer_nl" not in (out[1].index_body or "")
    assert door.forms._folded == {}  # nothing kept between batches


def test_the_writer_indexes_the_door_s_body_and_folds_only_without_one(
    engine: sa.Engine, tmp_path: Path
) -> None:
    door = build_door(_settings(tmp_path))
    with_body, without = door([make_post(1, "brand in Lochem"), make_post(2, "brand in Delft")])
    # A body the text would not give proves the writer took the door's and did not fold again.
    with_body = msgspec.structs.replace(with_body, index_body="brand in lochem doorbody")
    without = msgspec.structs.replace(without, index_body=None)
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[with_body, without]))
    with engine.connect() as conn:

        def ids(word: str) -> list[str]:
            sql = (
                "SELECT id FROM posts WHERE pk IN"
                " (SELECT rowid FROM posts_fts WHERE posts_fts MATCH :w)"
                if engine.dialect.name == "sqlite"
                else "SELECT id FROM posts WHERE tsv @@ to_tsquery('simple', :w)"
            )
            return list(conn.execute(sa.text(sql), {"w": word}).scalars())

        assert ids("doorbody") == [with_body.id]
        assert ids("delft") == [without.id]


def test_index_body_crosses_a_process_boundary() -> None:
    post = msgspec.structs.replace(make_post(1), index_body="bericht nummer 1")
    wire = msgspec.msgpack.encode([post])
    assert msgspec.msgpack.Decoder(list[Post]).decode(wire) == [post]
