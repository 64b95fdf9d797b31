"""Near-duplicate detection scaled out: the cost per post of each part, and of the alternative.

Door workers fingerprint (content hash + SimHash, in parallel); the one writer marks
(`Deduplicator.mark`, serial). The alternative, state shared in Redis, needs per post one exact
key plus five band sets looked up and added, from every worker: measured here as one
pipelined round trip per batch for the lookups and one for the additions (a lower bound: an
atomic version, a Lua script per batch, does the same work inside Redis).

    python bench/dedup_split.py [--posts 50000] [--batch 500] [--redis URL]

Texts: the real posts of ../shared/data (bench/corpus.py), crisis tweets with many retweets.
Last line: one JSON object with µs per post of each part (one core, this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime

from corpus import real_texts  # bench/ is on the path when run as a script
from stadspuls.enrich.dedup import Deduplicator, _band_keys, _to_unsigned
from stadspuls.records import Post


def _posts(n: int) -> list[Post]:
    texts = real_texts()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    return [
        Post(id=f"bench:{i}", source="bench", native_id=str(i), created_at=at, text=text)
        for i, (text, _) in enumerate((texts * (n // len(texts) + 1))[:n])
    ]


def _timed(fn: object, batches: list[list[Post]]) -> tuple[float, list[Post]]:
    out: list[Post] = []
    started = time.perf_counter()
    for batch in batches:
        out.extend(fn(batch))  # type: ignore[operator]
    return time.perf_counter() - started, out


def _redis_shared(url: str, batches: list[list[Post]]) -> float:
    import redis

    client = redis.Redis.from_url(url)
    prefix = f"bench-dedup-{os.getpid()}"
    started = time.perf_counter()
    for batch in batches:
        lookup = client.pipeline(transaction=False)
        for post in batch:
            lookup.get(f"{prefix}:x:{post.content_hash}")
            if post.simhash is not None:
                for key in _band_keys(_to_unsigned(post.simhash)):
                    lookup.smembers(f"{prefix}:b:{key}")
        lookup.execute()
        add = client.pipeline(transaction=False)
        for post in batch:
            add.set(f"{prefix}:x:{post.content_hash}", post.id, nx=True)
            if post.simhash is not None:
                for key in _band_keys(_to_unsigned(post.simhash)):
                    add.sadd(f"{prefix}:b:{key}", f"{post.simhash}:{post.id}")
        add.execute()
    elapsed = time.perf_counter() - started
    keys = list(client.scan_iter(match=f"{prefix}:*", count=10_000))
    for start in range(0, len(keys), 10_000):
        client.delete(*keys[start : start + 10_000])
    client.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redis", default=os.environ.get("STADSPULS_TEST_REDIS_URL"))
    args = parser.parse_args()
    posts = _posts(args.posts)
    batches = [posts[i : i + args.batch] for i in range(0, len(posts), args.batch)]
    runs: dict[str, list[float]] = {"one_process": [], "fingerprint": [], "mark": [], "redis": []}
    marked = 0
    for _ in range(args.repeat):
        whole, _ = _timed(Deduplicator(), batches)
        runs["one_process"].append(whole)
        door = Deduplicator(marks=False)
        seconds, printed = _timed(door.fingerprint, batches)
        runs["fingerprint"].append(seconds)
        fingerprinted = [printed[i : i + args.batch] for i in range(0, len(printed), args.batch)]
        seconds, out = _timed(Deduplicator().mark, fingerprinted)
        runs["mark"].append(seconds)
        marked = sum(1 for p in out if p.duplicate_kind)
        if args.redis:
            runs["redis"].append(_redis_shared(args.redis, fingerprinted))
    us = {
        name: round(statistics.median(values) / len(posts) * 1e6, 2)
        for name, values in runs.items()
        if values
    }
    for name, value in us.items():
        print(f"{name:>12}: {value:7.2f} µs/post (median of {args.repeat})")
    print(f"{marked} of {len(posts)} posts marked as duplicates; load {os.getloadavg()[0]:.2f}")
    print(
        json.dumps(
            {
                "posts": len(posts),
                "batch": args.batch,
                "us_per_post": us,
                "duplicates": marked,
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
