"""The replay harness: the full door with a throw-away key, several monitors at once, nothing
kept afterwards."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from stadspuls.detect.replay import Replay, read_posts
from stadspuls.records import Post
from tests.factories import T0


def test_posts_are_keyed_matched_per_monitor_and_the_key_is_thrown_away(tmp_path: Path) -> None:
    raw = [
        Post(
            id=f"test:{i}",
            source="test",
            native_id=str(i),
            created_at=T0 + timedelta(minutes=i),
            text="brand in delft" if i % 2 else "files op de a13",
            author=f"user{i}.bsky.social",
        )
        for i in range(6)
    ]
    seen: list[tuple[str, list[int]]] = []
    replay = Replay({1: "brand", 2: "files", 3: "brand OR files"}, detectors=("burst",))
    replay.on_post = lambda post, matched: seen.append((post.id, matched))
    with replay:
        folder = replay.folder
        assert (folder / "pseudonym.key").exists()
        out = replay.feed(raw)
    assert not folder.exists()
    assert [m for _, m in seen] == [[2, 3], [1, 3]] * 3
    assert all(post.author is None and post.author_key for post in out)
    assert {post.id for post in out}.isdisjoint(post.id for post in raw)  # keyed ids
    assert replay.posts == 6


def test_files_are_read_in_time_order(tmp_path: Path) -> None:
    log = tmp_path / "p2000.csv"
    log.write_text(
        "created_at,service,priority,text\n"
        "2025-12-31T22:00:00,brandweer,P2,P 2 Containerbrand Spui Den Haag\n"
        "2025-12-31T21:00:00,brandweer,P1,P 1 Gebouwbrand Laan Den Haag\n",
        encoding="utf-8",
    )
    posts, stats = read_posts([log])
    assert [p.created_at.hour for p in posts] == [20, 21]  # UTC: Amsterdam is an hour ahead
    assert stats.posts == 2
