"""Consume a source's stream in a test: until a condition holds, within a time limit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable

from stadspuls.records import Checkpoint, Post, SourceItem


async def collect_until(
    stream: AsyncIterator[SourceItem],
    done: Callable[[list[SourceItem]], bool],
    timeout: float = 10.0,
) -> list[SourceItem]:
    items: list[SourceItem] = []
    try:
        async with asyncio.timeout(timeout):
            async for item in stream:
                items.append(item)
                if done(items):
                    break
    except TimeoutError:
        got = sorted(post_ids(items))
        raise AssertionError(f"timed out after {len(items)} items; posts: {got}") from None
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return items


def post_ids(items: Iterable[SourceItem]) -> set[str]:
    return {item.id for item in items if isinstance(item, Post)}


def has_posts(expected: set[str]) -> Callable[[list[SourceItem]], bool]:
    return lambda items: expected <= post_ids(items)


def stored_until_last_checkpoint(items: list[SourceItem], stream: str) -> tuple[list[Post], str]:
    """What a store writing posts and checkpoints in one transaction keeps after a crash: the
    posts up to the last checkpoint of `stream`, and that checkpoint's cursor."""
    last = max(
        i for i, item in enumerate(items) if isinstance(item, Checkpoint) and item.stream == stream
    )
    cursor = items[last]
    assert isinstance(cursor, Checkpoint)
    return [item for item in items[:last] if isinstance(item, Post)], cursor.cursor


async def collect_while_waiting(
    stream: AsyncIterator[SourceItem], condition: Callable[[], bool], timeout: float = 10.0
) -> list[SourceItem]:
    """Consume `stream` until `condition()` (something outside it, such as a server's request
    log) holds; for checking that a source yields nothing."""
    items: list[SourceItem] = []

    async def consume() -> None:
        async for item in stream:
            items.append(item)

    task = asyncio.create_task(consume())
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                if task.done():
                    task.result()
                    break
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return items
