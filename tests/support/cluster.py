"""Helpers of the cluster's tests: sources of fixed items, and driving the stages in-process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence

import sqlalchemy as sa

from stadspuls.cluster.collector import Collector
from stadspuls.cluster.door import DoorWorker
from stadspuls.cluster.writer import ClusterWriter
from stadspuls.records import Checkpoint, Post, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import Source, SourceStats


class ListSource:
    """A source yielding fixed items (posts, deletions, checkpoints) once, resuming after the
    index its checkpoints carry when `resumable`."""

    def __init__(self, items: Sequence[SourceItem], name: str = "list") -> None:
        self.items = list(items)
        self.name = name
        self.stats = SourceStats()

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        for item in self.items:
            yield item


def numbered_posts(n: int, stream: str = "list", first: int = 1) -> list[SourceItem]:
    """n posts numbered from `first`, each followed by a checkpoint with its number (as a
    replay emits them)."""
    from datetime import UTC, datetime, timedelta

    out: list[SourceItem] = []
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for i in range(first, first + n):
        out.append(
            Post(
                id=f"test:{i}",
                source="test",
                native_id=str(i),
                created_at=start + timedelta(seconds=i),
                text=f"bericht nummer {i} over de brand in de haven van stad {i * 7919 % 1000}",
                author=f"user{i % 5}",
                lang_declared="nl",
            )
        )
        out.append(Checkpoint(stream, str(i)))
    return out


def run_collector(settings: Settings, sources: Sequence[Source], name: str = "c") -> Collector:
    """Publish everything the sources yield (they must end), in this thread."""
    collector = Collector(settings, name, sources)
    asyncio.run(collector.run())
    collector.broker.close()
    collector.engine.dispose()
    return collector


@contextlib.contextmanager
def door_workers(settings: Settings, *names: str) -> Iterator[list[DoorWorker]]:
    workers = [DoorWorker(settings, name) for name in names]
    for worker in workers:
        worker.prepare()
    try:
        yield workers
    finally:
        for worker in workers:
            worker.broker.close()


@contextlib.contextmanager
def active_writer(settings: Settings, name: str = "w") -> Iterator[ClusterWriter]:
    writer = ClusterWriter(settings, name)
    assert writer.acquire(threading.Event())
    writer.start()
    try:
        yield writer
    finally:
        writer.release()
        writer.broker.close()
        writer.engine.dispose()


def drain(doors: Sequence[DoorWorker], writer: ClusterWriter, rounds: int = 500) -> None:
    """Step the door workers and the writer until both streams are empty and acknowledged."""
    broker = writer.broker
    for _ in range(rounds):
        for door in doors:
            door.step()
        writer.step()
        if not broker.lag(broker.items, "door") and not broker.lag(broker.enriched, "writer"):
            return
    raise AssertionError("the cluster did not drain")


def stored_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.text("SELECT id FROM posts")))


def cursors(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT stream, cursor FROM cursors")).all()
    return {str(stream): str(cursor) for stream, cursor in rows}


def stored_numbers(engine: sa.Engine) -> set[int]:
    """The numbers of the `numbered_posts` stored (their ids are keyed at the door)."""
    with engine.connect() as conn:
        texts = [r[0] for r in conn.execute(sa.text("SELECT text FROM posts"))]
    return {int(text.split()[2]) for text in texts}
