from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

import msgspec
import sqlalchemy as sa

from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import Checkpoint, Deletion, Post, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import SourceStats
from stadspuls.store.posts import count_all, get_post, load_counters, load_cursors
from stadspuls.store.writer import Batch
from tests.factories import T0, make_post, stored_id


class ListSource:
    """A finite in-memory source that resumes from its own checkpoint, like a file replay."""

    name = "listsource"

    def __init__(self, items: Sequence[Post | Deletion], malformed: int = 0) -> None:
        self.items = list(items)
        self.stats = SourceStats()
        self._malformed = malformed

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        start = int(cursors.get("list", "0"))
        self.stats.malformed += self._malformed
        for index in range(start, len(self.items)):
            yield self.items[index]
            yield Checkpoint("list", str(index + 1))
            await asyncio.sleep(0)


def test_run_stores_everything_once_and_resumes(settings: Settings, engine: sa.Engine) -> None:
    posts = [make_post(n) for n in range(50)]
    items: list[Post | Deletion] = [*posts, Deletion("test:3", T0)]
    pipeline = Pipeline(engine, build_door(settings), batch_size=7, batch_seconds=0.01)
    asyncio.run(pipeline.run([ListSource(items[:30], malformed=2)]))
    assert count_all(engine) == 30
    assert load_cursors(engine) == {"list": "30"}
    # A restart with the whole list resumes at the cursor: nothing doubled, nothing missed.
    asyncio.run(pipeline.run([ListSource(items)]))
    pipeline.close()
    assert count_all(engine) == 49
    assert get_post(engine, stored_id(settings, "test:3")) is None
    assert pipeline.stats.already_stored == 0
    assert load_counters(engine)["listsource"]["malformed"] == 2
    assert load_counters(engine)["test"]["received"] == 50
    stored = get_post(engine, stored_id(settings, "test:10"))
    assert stored is not None
    assert stored.author is None
    assert stored.author_key is not None


def test_the_writer_wakes_the_consumers_after_commits_that_stored_posts(
    settings: Settings, engine: sa.Engine
) -> None:
    stored: list[int] = []
    pipeline = Pipeline(
        engine, build_door(settings), on_commit=lambda: stored.append(count_all(engine))
    )
    pipeline.process([make_post(1), make_post(2)])
    pipeline.process([make_post(2)])  # nothing new: no wake-up
    pipeline.process([make_post(3)])
    pipeline.close()
    assert stored == [2, 3]  # each wake-up comes after the commit: the posts are readable


def test_a_rejected_post_does_not_lose_its_batch(settings: Settings, engine: sa.Engine) -> None:
    class Broken:
        name = "broken"

        def __call__(self, posts: Sequence[Post]) -> list[Post]:
            # Simulates an enricher bug on one post: it leaks the raw author handle.
            return [
                p if p.id != culprit else msgspec.structs.replace(p, author="raw") for p in posts
            ]

    culprit = stored_id(settings, "test:2")
    door = build_door(settings, extra=[Broken()])
    pipeline = Pipeline(engine, door, batch_size=100, batch_seconds=0.01)
    asyncio.run(pipeline.run([ListSource([make_post(n) for n in range(5)])]))
    pipeline.close()
    assert count_all(engine) == 4
    assert get_post(engine, culprit) is None
    assert load_counters(engine)["test"]["rejected"] == 1
    assert load_cursors(engine) == {"list": "5"}


def test_an_import_isolates_a_post_the_store_rejects_like_run_does(
    settings: Settings, engine: sa.Engine
) -> None:
    class Leaky:
        name = "leaky"

        def __call__(self, posts: Sequence[Post]) -> list[Post]:
            # An enricher bug on one post: it leaks the raw author handle, which the store refuses.
            return [
                p if p.id != culprit else msgspec.structs.replace(p, author="raw") for p in posts
            ]

    culprit = stored_id(settings, "test:2")
    pipeline = Pipeline(engine, build_door(settings, extra=[Leaky()]))
    batches: list[tuple[list[SourceItem], Batch | None]] = [
        ([*(make_post(n) for n in range(start, start + 3)), Checkpoint("file", str(start + 3))],
         None)
        for start in (0, 3)
    ]  # fmt: skip
    pipeline.process_all(batches)
    pipeline.close()
    assert count_all(engine) == 5
    assert get_post(engine, culprit) is None
    assert (pipeline.stats.rejected, pipeline.stats.failed_batches) == (1, 1)
    assert load_counters(engine)["test"]["rejected"] == 1
    assert load_cursors(engine) == {"file": "6"}
