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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import msgspec
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts
from stadspuls import monitors
from stadspuls.enrich.door import build_door, start_door
from stadspuls.pipeline import CONSUMERS, assemble
from stadspuls.query.text import index_text
from stadspuls.records import Monitor, Post, SourceItem
from stadspuls.settings import BlueskySettings, OptionalEnricher, Settings
from stadspuls.sources.jetstream import decode_frame, map_event
from stadspuls.store.consumers import posts_after
from stadspuls.store.database import open_store
from stadspuls.store.rows import COLUMNS, post_to_row
from stadspuls.store.writer import Batch, PostWriter

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


ENRICHERS: list[OptionalEnricher] = []


def _settings(url: str, key_file: Path, door_process: bool) -> Settings:
    return Settings(
        db_url=url,
        key_file=key_file,
        door_process=door_process,
        enrichers=ENRICHERS,
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )


def run_stages(events: list[bytes], url: str, key_file: Path, batch: int) -> dict[str, float]:
    """One core, stage by stage: where the time goes."""
    settings = _settings(url, key_file, door_process=False)
    engine = open_store(url)
    door = build_door(settings)
    door.warm_up()
    stages = {"decode+map": 0.0, "store": 0.0}
    with PostWriter(engine) as writer:
        for offset in range(0, len(events), batch):
            t0 = time.perf_counter()
            posts = [map_event(decode_frame(frame)) for frame in events[offset : offset + batch]]
            t1 = time.perf_counter()
            enriched = door([p for p in posts if isinstance(p, Post)])
            t2 = time.perf_counter()
            writer.write(Batch(posts=enriched))
            stages["decode+map"] += t1 - t0
            stages["store"] += time.perf_counter() - t2
    for name, seconds in door.seconds.items():
        stages[f"door:{name}"] = seconds
    engine.dispose()
    return stages


# Monitors for `--monitors`: words frequent in the benchmark's real texts (Dutch and English).
MONITOR_WORDS = [
    "politie",
    "brandweer",
    "ambulance",
    "brand",
    "trein",
    "weer",
    "amsterdam",
    "rotterdam",
    "utrecht",
    "den",
    "haag",
    "eindhoven",
    "groningen",
    "fire",
    "flood",
    "police",
    "earthquake",
    "storm",
    "rain",
    "school",
    "wind",
    "water",
    "help",
    "mensen",
    "auto",
    "straat",
    "nacht",
    "dag",
    "goed",
    "slecht",
    "mooi",
    "leuk",
    "echt",
    "vandaag",
    "morgen",
    "people",
    "news",
]


def _monitors(engine: sa.Engine, n: int) -> None:
    for i in range(n):
        word = MONITOR_WORDS[i % len(MONITOR_WORDS)]
        query = (
            word
            if i < len(MONITOR_WORDS)
            else f"{word} OR {MONITOR_WORDS[(i * 7 + 3) % len(MONITOR_WORDS)]}"
        )
        monitors.create(
            engine,
            Monitor(name=f"bench-{i}", query=query, owner="bench", purpose="benchmark",
                    legal_basis="public-task", retention_days=30),
        )  # fmt: skip


def run_pipeline(
    events: list[bytes], url: str, key_file: Path, batch: int, door_process: bool,
    n_monitors: int = 0, rollup: bool = True,
) -> tuple[float, float, list[Post]]:  # fmt: skip
    """The product path (`stadspuls ingest`): the door in a child process overlapping the writer,
    the consumers (monitor linker, rollup, detectors) running beside it from their cursors.
    Returns the seconds to store everything, the seconds until the consumers had also caught
    up, and the stored posts."""
    settings = _settings(url, key_file, door_process)
    engine = open_store(url)
    _monitors(engine, n_monitors)
    door = start_door(settings)
    door.warm_up()  # throughput, not start-up: the models load before the clock starts
    consumers = [c for c in CONSUMERS if rollup or c is not CONSUMERS[1]]
    assembly = assemble(settings, engine, door=door, consumers=consumers)
    assembly.start()

    def batches() -> Iterator[tuple[list[SourceItem], None]]:
        for offset in range(0, len(events), batch):
            items = [map_event(decode_frame(frame)) for frame in events[offset : offset + batch]]
            yield [item for item in items if item is not None], None

    started = time.perf_counter()
    assembly.pipeline.process_all(batches())
    stored_s = time.perf_counter() - started
    if not assembly.consumers.drain():
        raise SystemExit("a consumer kept failing; see the log")
    caught_up_s = time.perf_counter() - started
    assembly.close()
    with engine.connect() as conn:
        stored = [post for _, post in posts_after(conn, 0, len(events))]
    engine.dispose()
    return stored_s, caught_up_s, stored


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
    parser.add_argument(
        "--door",
        choices=["core", "full"],
        default="core",
        help="core: normalise, pseudonymise, language, dedup; full: also places, sentiment, crisis",
    )
    parser.add_argument("--monitors", type=int, default=0, help="monitors to match (default: none)")
    parser.add_argument(
        "--no-rollup", action="store_true", help="run the consumers without the rollup"
    )
    args = parser.parse_args()
    ENRICHERS[:] = [] if args.door == "core" else list(get_args(OptionalEnricher))
    events = jetstream_events(args.posts)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = root / "key"
        stages = run_stages(events, f"sqlite:///{root / 'stages.db'}", key, args.batch)
        single, _, _ = run_pipeline(events, f"sqlite:///{root / 'one.db'}", key, args.batch, False)
        ours, caught_up, posts = run_pipeline(
            events, f"sqlite:///{root / 'two.db'}", key, args.batch, True, args.monitors,
            not args.no_rollup,
        )  # fmt: skip
        bare = run_bare(posts, f"sqlite:///{root / 'bare.db'}", args.batch)
    n = len(posts)
    result = {
        "door": args.door,
        "posts": n,
        "posts_per_s": round(n / ours),
        "bare_insert_posts_per_s": round(n / bare),
        "ratio_to_bare_insert": round(bare / ours, 3),
        "one_process_posts_per_s": round(n / single),
        "consumers_caught_up_posts_per_s": round(n / caught_up),
        "monitors": args.monitors,
        "rollup": not args.no_rollup,
        "duplicates_marked": sum(1 for p in posts if p.duplicate_of),
    }
    print(
        f"{n} real-format Jetstream posts, {args.door} door, batches of {args.batch}, SQLite + FTS5"
    )
    print("one core, stage by stage:")
    for name, seconds in stages.items():
        rate = n / seconds if seconds else float("inf")
        print(f"  {name:<24} {seconds:7.2f} s  {rate:>12,.0f} posts/s")
    print("end to end:")
    print(f"  door in this process     {single:7.2f} s  {n / single:>12,.0f} posts/s")
    print(f"  door in a child process  {ours:7.2f} s  {n / ours:>12,.0f} posts/s")
    print(f"  consumers caught up      {caught_up:7.2f} s  {n / caught_up:>12,.0f} posts/s")
    print(f"  bare insert, same rows   {bare:7.2f} s  {n / bare:>12,.0f} posts/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
