"""Ingest benchmark: real-format Jetstream events → mapping → door → store, end to end.

Builds N Jetstream commit events (the exact wire format) around real texts from ../shared/data,
pushes them through decode + mapping, the door and the batched writer into a fresh SQLite file,
then inserts the very same rows into a fresh database with a bare batched executemany into
`posts` and `posts_fts` (the limit for this schema on this machine). Prints posts/s, the ratio,
the time per stage, and as its last line one JSON object.

    python bench/ingest.py [--posts 200000] [--batch 2000] [--door core|full] [--child-only]
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
from itertools import islice
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


def jetstream_events(n: int, seed: int = 7) -> Iterator[bytes]:
    """N Jetstream commit events, generated one at a time (1M events would take ~600 MB)."""
    rng = random.Random(seed)
    texts = real_texts()
    dids = ["did:plc:" + "".join(rng.choices(ALPHABET, k=24)) for _ in range(20_000)]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    encode = msgspec.json.Encoder().encode
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
        yield encode(
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


class EventFile:
    """The events written once, one frame a line, and read back a batch at a time, as a
    stream delivers them: every run sees the same frames and none holds them all in memory."""

    def __init__(self, path: Path, n: int) -> None:
        self.path = path
        with path.open("wb") as out:
            for frame in jetstream_events(n):
                out.write(frame + b"\n")  # JSON text never holds a raw newline

    def batches(self, size: int) -> Iterator[list[bytes]]:
        with self.path.open("rb") as lines:
            while chunk := [line.rstrip(b"\n") for line in islice(lines, size)]:
                yield chunk


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


def run_stages(
    events: EventFile, url: str, key_file: Path, batch: int
) -> dict[str, tuple[float, float]]:
    """One core, stage by stage: where the time goes, as (wall, CPU) seconds per stage; "store"
    is the writer alone, "door:index" the full-text body the door now computes for it."""
    settings = _settings(url, key_file, door_process=False)
    engine = open_store(url)
    door = build_door(settings)
    door.warm_up()
    stages = {"decode+map": 0.0, "store": 0.0}
    cpu = dict(stages)
    with PostWriter(engine) as writer:
        for frames in events.batches(batch):
            t0, c0 = time.perf_counter(), time.process_time()
            posts = [map_event(decode_frame(frame)) for frame in frames]
            t1, c1 = time.perf_counter(), time.process_time()
            enriched = door([p for p in posts if isinstance(p, Post)])
            t2, c2 = time.perf_counter(), time.process_time()
            writer.write(Batch(posts=enriched))
            stages["decode+map"] += t1 - t0
            stages["store"] += time.perf_counter() - t2
            cpu["decode+map"] += c1 - c0
            cpu["store"] += time.process_time() - c2
    for name, seconds in door.seconds.items():
        stages[f"door:{name}"] = seconds
        cpu[f"door:{name}"] = door.cpu_seconds[name]
    engine.dispose()
    return {name: (seconds, cpu[name]) for name, seconds in stages.items()}


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
    events: EventFile, url: str, key_file: Path, batch: int, door_process: bool,
    n_monitors: int = 0, rollup: bool = True,
) -> tuple[float, float]:  # fmt: skip
    """The product path (`stadspuls ingest`): the door in a child process overlapping the writer,
    the consumers (monitor linker, rollup, detectors) running beside it from their cursors.
    Returns the seconds to store everything and the seconds until the consumers had also
    caught up."""
    settings = _settings(url, key_file, door_process)
    engine = open_store(url)
    _monitors(engine, n_monitors)
    door = start_door(settings)
    door.warm_up()  # throughput, not start-up: the models load before the clock starts
    consumers = [c for c in CONSUMERS if rollup or c is not CONSUMERS[1]]
    assembly = assemble(settings, engine, door=door, consumers=consumers)
    assembly.start()

    def batches() -> Iterator[tuple[list[SourceItem], None]]:
        for frames in events.batches(batch):
            items = [map_event(decode_frame(frame)) for frame in frames]
            yield [item for item in items if item is not None], None

    started = time.perf_counter()
    assembly.pipeline.process_all(batches())
    stored_s = time.perf_counter() - started
    if not assembly.consumers.drain():
        raise SystemExit("a consumer kept failing; see the log")
    caught_up_s = time.perf_counter() - started
    assembly.close()
    engine.dispose()
    return stored_s, caught_up_s


def stored_posts(url: str, batch: int) -> Iterator[list[Post]]:
    """The posts a run stored, a batch at a time, in the order they were stored."""
    engine = open_store(url)
    after = 0
    with engine.connect() as conn:
        while chunk := posts_after(conn, after, batch):
            after = chunk[-1][0]
            yield [post for _, post in chunk]
    engine.dispose()


def run_bare(source_url: str, url: str, batch: int) -> tuple[float, int, int]:
    """The rows another run stored, inserted with nothing but batched executemany into posts and
    posts_fts. Mapping rows and folding the index body happen outside the clock: they are part of
    the row, not of the insert. Returns the seconds, the posts and how many were duplicates."""
    engine = open_store(url)
    raw = engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    conn.isolation_level = None
    marks = ", ".join(["?"] * (len(COLUMNS) + 1))
    sql = f"INSERT INTO posts (pk, {', '.join(COLUMNS)}) VALUES ({marks})"
    elapsed = 0.0
    n = duplicates = 0
    for posts in stored_posts(source_url, batch):
        rows = [(n + i + 1, *post_to_row(p, 0)) for i, p in enumerate(posts)]
        bodies = [(n + i + 1, index_text(p.text)) for i, p in enumerate(posts)]
        duplicates += sum(1 for p in posts if p.duplicate_of)
        n += len(posts)
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.executemany("INSERT INTO posts_fts (rowid, body) VALUES (?, ?)", bodies)
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - started
    raw.close()
    engine.dispose()
    return elapsed, n, duplicates


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
        "--child-only",
        action="store_true",
        help="only the product path (door in a child process) and the bare insert: no stage by"
        " stage run, no run with the door in the writer's process (for 1M posts and more)",
    )
    parser.add_argument(
        "--no-rollup", action="store_true", help="run the consumers without the rollup"
    )
    args = parser.parse_args()
    ENRICHERS[:] = [] if args.door == "core" else list(get_args(OptionalEnricher))
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = root / "key"
        events = EventFile(root / "events.jsonl", args.posts)
        stages: dict[str, tuple[float, float]] = {}
        single = 0.0
        if not args.child_only:
            stages = run_stages(events, f"sqlite:///{root / 'stages.db'}", key, args.batch)
            single, _ = run_pipeline(events, f"sqlite:///{root / 'one.db'}", key, args.batch, False)
        ours, caught_up = run_pipeline(
            events, f"sqlite:///{root / 'two.db'}", key, args.batch, True, args.monitors,
            not args.no_rollup,
        )  # fmt: skip
        bare, n, duplicates = run_bare(
            f"sqlite:///{root / 'two.db'}", f"sqlite:///{root / 'bare.db'}", args.batch
        )
    result = {
        "door": args.door,
        "posts": n,
        "posts_per_s": round(n / ours),
        "bare_insert_posts_per_s": round(n / bare),
        "ratio_to_bare_insert": round(bare / ours, 3),
        "one_process_posts_per_s": round(n / single) if single else None,
        "consumers_caught_up_posts_per_s": round(n / caught_up),
        "monitors": args.monitors,
        "rollup": not args.no_rollup,
        "duplicates_marked": duplicates,
        "stages_posts_per_s": {k: round(n / v[0]) if v[0] else None for k, v in stages.items()},
        "stages_cpu_posts_per_s": {k: round(n / v[1]) if v[1] else None for k, v in stages.items()},
        "loadavg_start": load,
        "loadavg_end": Path("/proc/loadavg").read_text().split()[0],
    }
    print(
        f"{n} real-format Jetstream posts, {args.door} door, batches of {args.batch}, SQLite + FTS5"
    )
    if stages:
        print("one core, stage by stage (wall; CPU):")
    for name, (seconds, cpu) in stages.items():
        rate = n / seconds if seconds else float("inf")
        cpu_rate = n / cpu if cpu else float("inf")
        print(
            f"  {name:<24} {seconds:7.2f} s  {rate:>10,.0f} posts/s;"
            f"  {cpu:7.2f} s CPU  {cpu_rate:>10,.0f} posts/s"
        )
    print("end to end:")
    if single:
        print(f"  door in this process     {single:7.2f} s  {n / single:>12,.0f} posts/s")
    print(f"  door in a child process  {ours:7.2f} s  {n / ours:>12,.0f} posts/s")
    print(f"  consumers caught up      {caught_up:7.2f} s  {n / caught_up:>12,.0f} posts/s")
    print(f"  bare insert, same rows   {bare:7.2f} s  {n / bare:>12,.0f} posts/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
