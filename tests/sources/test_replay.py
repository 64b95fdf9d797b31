"""ReplaySource: paced by the posts' timestamps, and resumable so that a replay killed at any
point and restarted stores every post exactly once."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stadspuls.records import Checkpoint, Post, SourceItem
from stadspuls.sources.files import stream_name
from stadspuls.sources.replay import ReplaySource

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"


def csv_file(tmp_path: Path, count: int, gap: timedelta) -> Path:
    start = datetime(2024, 11, 23, 14, 0, tzinfo=UTC)
    rows = ["id,text,created_at\n"] + [
        f"r{i},bericht {i},{(start + i * gap).isoformat()}\n" for i in range(count)
    ]
    path = tmp_path / "posts.csv"
    path.write_text("".join(rows))
    return path


def test_replay_killed_and_restarted_stores_each_post_once(tmp_path: Path) -> None:
    path = csv_file(tmp_path, 25, timedelta(seconds=1))
    store: list[Post] = []
    cursors: dict[str, str] = {}

    async def run_until_killed(after: int | None) -> None:
        """Consume like the writer does; `after` items in, the process "dies" (kill -9): only
        what was committed with a checkpoint survives."""
        pending: list[Post] = []
        seen = 0
        async for item in ReplaySource(path, speed=0).stream(dict(cursors)):
            if isinstance(item, Post):
                pending.append(item)
            elif isinstance(item, Checkpoint):
                store.extend(pending)  # one transaction: posts + checkpoint
                pending.clear()
                cursors[item.stream] = item.cursor
            seen += 1
            if after is not None and seen >= after:
                return

    asyncio.run(run_until_killed(7))  # dies between a post and its checkpoint
    asyncio.run(run_until_killed(12))
    asyncio.run(run_until_killed(None))
    ids = [p.id for p in store]
    assert len(ids) == len(set(ids)) == 25
    assert cursors == {stream_name(path, "replay"): "25"}


def test_replay_is_paced_by_created_at(tmp_path: Path) -> None:
    path = csv_file(tmp_path, 5, timedelta(minutes=1))

    async def run() -> list[SourceItem]:
        return [item async for item in ReplaySource(path, speed=1200).stream({})]

    start = time.monotonic()
    items = asyncio.run(run())
    elapsed = time.monotonic() - start
    assert 0.18 <= elapsed < 2.0  # four gaps of 60 s at 1200× = 0.2 s
    assert sum(isinstance(i, Post) for i in items) == 5


def test_replay_of_a_jetstream_file_passes_deletions(tmp_path: Path) -> None:
    async def run() -> list[SourceItem]:
        source = ReplaySource(FIXTURES / "jetstream_events.jsonl", speed=float("inf"))
        return [item async for item in source.stream({})]

    items = asyncio.run(run())
    assert sum(isinstance(i, Post) for i in items) == 7
    assert sum(isinstance(i, Checkpoint) for i in items) == 8
    assert json.dumps([i.cursor for i in items if isinstance(i, Checkpoint)][-1]) == '"8"'
