"""Ingest benchmark: real-format Jetstream events → mapping → door → store, end to end.

Builds N Jetstream commit events (the exact wire format) around real texts from ../shared/data,
pushes them through decode + mapping, the door and the batched writer into a fresh SQLite file,
then inserts the very same rows into a fresh database with a bare batched executemany into
`posts` and `posts_fts` (the limit for this schema on this machine). Prints posts/s, the ratio,
the time per stage, and as its last line one JSON object.

    python bench/ingest.py [--posts 200000] [--batch 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts  # noqa: E402

from stadspuls.enrich.door import build_door  # noqa: E402
from stadspuls.query.text import index_text  # noqa: E402
from stadspuls.records import Post  # noqa: E402
from stadspuls.settings import BlueskySettings, Settings  # noqa: E402
from stadspuls.sources.jetstream import decode_frame, map_event  # noqa: E402
from stadspuls.store.database import open_store  # noqa: E402
from stadspuls.store.posts import COLUMNS, Batch, PostWriter, post_to_row  # noqa: E402

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def jetstream_events(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    texts = real_texts()
    dids = ["did:plc:" + "".join(rng.choices(ALPHABET, k=24)) for _ in range(20_000)]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    encode = msgspec.json.Encoder().encode
    events = []
    for i in range(n):
        text, lang = texts[i % len(texts)]
        created = start + timedelta(milliseconds=40 * i)
        rkey = "3l" + "".join(rng.choices(ALPHABET, k=11))
        record: dict[str, object] = {
            "$type": "app.bsky.feed.post",
            "createdAt": created.isoformat().replace("+00:00", "Z"),
            "text": text[:3000],
        }
        if lang:
            record["langs"] = [lang]
        events.append(
            encode(
                {
                    "did": rng.choice(dids),
                    "time_us": int(created.timestamp() * 1e6) + i % 1000,
                    "kind": "commit",
                    "commit": {
                        "rev": "3l" + rkey,
                        "operation": "create",
                        "collection": "app.bsky.feed.post",
                        "rkey": rkey,
                        "record": record,
                        "cid": "bafyrei" + "".join(rng.choices(ALPHABET, k=52)),
                    },
                }
            )
        )
    return events


def run_stadspuls(events: list[bytes], url: str, key_file: Path, batch: int) -> tuple[float, dict[str, float], list[Post]]:
    settings = Settings(
        db_url=url, key_file=key_file, mastodon=[], feeds=[], bluesky=BlueskySettings(enabled=False)
    )
    engine = open_store(url)
    door = build_door(settings)
    stages = {"decode+map": 0.0, "store": 0.0}
    stored: list[Post] = []
    started = time.perf_counter()
    with PostWriter(engine) as writer:
        for offset in range(0, len(events), batch):
            t0 = time.perf_counter()
            posts = []
            for frame in events[offset : offset + batch]:
                item = map_event(decode_frame(frame))
                if isinstance(item, Post):
                    posts.append(item)
            t1 = time.perf_counter()
            enriched = door(posts)
            t2 = time.perf_counter()
            writer.write(Batch(posts=enriched))
            stages["decode+map"] += t1 - t0
            stages["store"] += time.perf_counter() - t2
            stored.extend(enriched)
    elapsed = time.perf_counter() - started
    for name, seconds in door.seconds.items():
        stages[f"door:{name}"] = seconds
    engine.dispose()
    return elapsed, stages, stored


def run_bare(posts: list[Post], url: str, batch: int) -> float:
    """The same rows, inserted with nothing but batched executemany into posts and posts_fts."""
    engine = open_store(url)
    collected = 0
    rows = [post_to_row(p, collected) for p in posts]
    bodies = [index_text(p.text) for p in posts]  # folding is part of the row, not the insert
    raw = engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    conn.isolation_level = None
    marks = ", ".join(["?"] * (len(COLUMNS) + 1))
    sql = f"INSERT INTO posts (pk, {', '.join(COLUMNS)}) VALUES ({marks})"
    started = time.perf_counter()
    for offset in range(0, len(rows), batch):
        chunk = rows[offset : offset + batch]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, [(offset + i + 1, *row) for i, row in enumerate(chunk)])
        conn.executemany(
            "INSERT INTO posts_fts (rowid, body) VALUES (?, ?)",
            [(offset + i + 1, body) for i, body in enumerate(bodies[offset : offset + batch])],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    raw.close()
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    events = jetstream_events(args.posts)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ours, stages, posts = run_stadspuls(events, f"sqlite:///{root / 'a.db'}", root / "key", args.batch)
        bare = run_bare(posts, f"sqlite:///{root / 'b.db'}", args.batch)
    n = len(posts)
    result = {
        "posts": n,
        "posts_per_s": round(n / ours),
        "bare_insert_posts_per_s": round(n / bare),
        "ratio_to_bare_insert": round(bare / ours, 3),
        "duplicates_marked": sum(1 for p in posts if p.duplicate_of),
    }
    print(f"{n} real-format Jetstream posts, batches of {args.batch}, SQLite (WAL) + FTS5")
    for name, seconds in stages.items():
        print(f"  {name:<22} {seconds:7.2f} s  {n / seconds if seconds else float('inf'):>12,.0f} posts/s")
    print(f"  end to end             {ours:7.2f} s  {n / ours:>12,.0f} posts/s")
    print(f"  bare insert, same rows {bare:7.2f} s  {n / bare:>12,.0f} posts/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
