"""Consume a source's stream in a test: until a condition holds, within a time limit."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timedelta

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


# Synthetic post streams for the detector conformance suite: posts as the door leaves them
# (keyed author, no raw handle), counts per minute drawn from a Poisson law with a rate that
# may follow the clock, deterministic for a seed.

_SYLLABLES = ("ka", "lo", "mi", "ter", "bo", "sen", "du", "vrij", "an", "pel", "ro", "gin")
# Everyday words plus made-up ones: unrelated posts share few words, as in a real stream (a
# story detector must not see one story in a flat series of chatter).
WORDS = [
    *[
        "stratumseind",
        "kroeg",
        "terras",
        "muziek",
        "avond",
        "vrienden",
        "bier",
        "weekend",
        "stad",
        "centrum",
    ],
    # ~5,000 made-up words: with a few hundred, three weeks of chatter hold chance "stories"
    # (one word in five posts of an evening, each sharing a second word) that no real stream has.
    *(
        a + b + c + d
        for a in _SYLLABLES
        for b in _SYLLABLES
        for c in _SYLLABLES
        for d in ("n", "s", "t")
    ),
]


def synthetic_posts(
    rate_per_hour: Callable[[datetime], float],
    start: datetime,
    hours: float,
    *,
    seed: int = 1,
    prefix: str = "syn",
    authors: int = 200,
    topic: str = "",
    negative_share: float | Callable[[datetime], float] | None = None,
    author_of: Callable[[random.Random], str] | None = None,
) -> list[Post]:
    """Posts from `start` for `hours`, about `rate_per_hour(t)` an hour; each post's text is a
    few everyday words (and `topic`, if given); `negative_share` sets `sentiment`."""
    rng = random.Random(seed)
    posts: list[Post] = []
    for minute in range(round(hours * 60)):
        at = start + timedelta(minutes=minute)
        count = _poisson(rng, rate_per_hour(at) / 60)
        for second in sorted(rng.randrange(60) for _ in range(count)):
            n = len(posts)
            share = negative_share(at) if callable(negative_share) else negative_share
            sentiment = None
            if share is not None:
                sentiment = (
                    "negative" if rng.random() < share else rng.choice(("neutral", "positive"))
                )
            author = author_of(rng) if author_of else f"author{rng.randrange(authors)}"
            words = " ".join(rng.sample(WORDS, 6))
            posts.append(
                Post(
                    id=f"{prefix}:{n}",
                    source="test",
                    native_id=str(n),
                    created_at=at + timedelta(seconds=second),
                    text=f"{topic} {words}".strip(),
                    author_key=author,
                    sentiment=sentiment,
                )
            )
    return posts


def merged(*streams: list[Post]) -> list[Post]:
    """Several streams as one, in time order (ties by id, so the order is stable)."""
    return sorted(
        (post for stream in streams for post in stream), key=lambda p: (p.created_at, p.id)
    )


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small per-minute means used here.
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def flat(rate: float) -> Callable[[datetime], float]:
    return lambda at: rate


def nightly_peak(low: float, high: float, peak_hour: int = 23) -> Callable[[datetime], float]:
    """A daily rhythm: `low` posts an hour by day rising smoothly to `high` around `peak_hour`
    (UTC), as a night-life street's stream does every night."""

    def rate(at: datetime) -> float:
        hours_from_peak = (at.hour + at.minute / 60 - peak_hour + 12) % 24 - 12
        return low + (high - low) * math.exp(-((hours_from_peak / 2.0) ** 2))

    return rate
