"""Cost per post of every stage, on one core: the figures docs/capacity.md is built from.

Real texts (bench/corpus.py) in real-format Jetstream events (bench/ingest.py's generator) go
through each stage on its own, timed per post:

- decode + map of a Jetstream frame;
- each door stage (normalise, pseudonymise, language, dedup; with `--full` also the models:
  places, sentiment, crisis), models loaded before the clock starts;
- msgspec msgpack encode and decode of an enriched Post (what goes over the broker);
- a Redis Streams round trip from Python: XADD, XREADGROUP and XACK, each pipelined in batches
  of 100 and 500, on a throw-away redis-server with the broker's persistence (AOF, everysec);
- the PostgreSQL write through store.writer.PostWriter (posts + tsvector + GIN and the other
  indexes, tombstone check, counters), batches of 500 and 2000, with synchronous_commit on and
  off, on a private server started here with fsync on (the test servers run with fsync off);
- the same writes into SQLite (WAL, FTS5) for comparison.

Prints a table and, as its last line, one JSON object.

    python bench/stage_costs.py [--posts 20000] [--full] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast, get_args

import msgspec
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import jetstream_events
from stadspuls.enrich.door import build_door
from stadspuls.records import Post
from stadspuls.settings import BlueskySettings, OptionalEnricher, Settings
from stadspuls.sources.jetstream import decode_frame, map_event
from stadspuls.store.database import open_store
from stadspuls.store.writer import Batch, PostWriter

DOOR_BATCH = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def us_per(seconds: float, n: int) -> float:
    return round(seconds / n * 1e6, 2) if n else 0.0


def settings_for(root: Path, full: bool) -> Settings:
    return Settings(
        db_url=f"sqlite:///{root / 'unused.db'}",
        key_file=root / "pseudonym.key",
        enrichers=list(get_args(OptionalEnricher)) if full else [],
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )


def decode_map(events: Sequence[bytes]) -> tuple[list[Post], float]:
    started = time.process_time()
    items = [map_event(decode_frame(frame)) for frame in events]
    seconds = time.process_time() - started
    return [p for p in items if isinstance(p, Post)], seconds


def door_stages(posts: Sequence[Post], settings: Settings) -> tuple[list[Post], dict[str, float]]:
    door = build_door(settings)
    door.warm_up()  # the models load before the clock starts
    # CPU time per enricher (the machine is shared: wall time would count the neighbours).
    seconds = {e.name: 0.0 for e in door.enrichers}
    out: list[Post] = []
    for offset in range(0, len(posts), DOOR_BATCH):
        batch = list(posts[offset : offset + DOOR_BATCH])
        for enricher in door.enrichers:
            started = time.process_time()
            batch = enricher(batch)
            seconds[enricher.name] += time.process_time() - started
        out.extend(batch)
    return out, seconds


def msgpack_costs(posts: Sequence[Post]) -> dict[str, float]:
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(Post)
    started = time.process_time()
    blobs = [encoder.encode(p) for p in posts]
    encoded = time.process_time() - started
    started = time.process_time()
    back = [decoder.decode(b) for b in blobs]
    decoded = time.process_time() - started
    assert back == list(posts), "msgpack round trip changed a post"
    return {
        "encode_us": us_per(encoded, len(posts)),
        "decode_us": us_per(decoded, len(posts)),
        "bytes_median": sorted(len(b) for b in blobs)[len(blobs) // 2],
    }


@contextlib.contextmanager
def redis_server(root: Path) -> Iterator[tuple[str, int]]:
    """A throw-away redis-server with the broker's persistence (AOF, fsync every second)."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is missing: apt-get install -y --no-install-recommends redis-server")
    port = free_port()
    data = root / "redis"
    data.mkdir()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data), "--save", "",
         "--appendonly", "yes", "--appendfsync", "everysec"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        for _ in range(200):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.02)
        client.close()
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def redis_round_trip(url: str, pid: int, blobs: Sequence[bytes], batch: int) -> dict[str, float]:
    """XADD in pipelined batches, then XREADGROUP + XACK in batches; wall time per post of each
    phase as seen by one Python client (the server's time included: it is on another core), and
    the CPU the single-threaded server spent per post (its own limit)."""
    import redis

    server0 = _cpu_seconds(pid)
    client0 = time.process_time()
    client = redis.Redis.from_url(url)
    stream = f"bench:{batch}"
    client.delete(stream)
    client.xgroup_create(stream, "door", id="0", mkstream=True)
    started = time.perf_counter()
    for offset in range(0, len(blobs), batch):
        pipe = client.pipeline(transaction=False)
        for blob in blobs[offset : offset + batch]:
            pipe.xadd(stream, {"p": blob})
        pipe.execute()
    added = time.perf_counter() - started
    read = acked = 0.0
    got = 0
    while True:
        t0 = time.perf_counter()
        reply: Any = client.xreadgroup("door", "w1", {stream: ">"}, count=batch)
        t1 = time.perf_counter()
        if not reply:
            break
        ids = [entry_id for entry_id, _ in reply[0][1]]
        got += len(ids)
        client.xack(stream, "door", *ids)
        read += t1 - t0
        acked += time.perf_counter() - t1
    pending = cast(Any, client.xpending(stream, "door"))["pending"]
    client.delete(stream)
    client.close()
    assert got == len(blobs), (got, len(blobs))
    assert pending == 0, pending
    n = len(blobs)
    server = _cpu_seconds(pid) - server0
    client_cpu = time.process_time() - client0
    return {
        "server_cpu_us": us_per(server, n),
        "client_cpu_us": us_per(client_cpu, n),
        "xadd_us": us_per(added, n),
        "xreadgroup_us": us_per(read, n),
        "xack_us": us_per(acked, n),
        "round_trip_us": us_per(added + read + acked, n),
    }


@contextlib.contextmanager
def private_postgres(root: Path) -> Iterator[str]:
    """A PostgreSQL with the durable defaults (fsync on, full_page_writes on)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        sys.exit("no PostgreSQL server binaries: run scripts/test-services.sh start once")
    bin_dir = bins[-1].parent
    # Its own folder (PostgreSQL refuses to run as root, and must reach its data directory).
    data = Path(tempfile.mkdtemp(prefix="stadspuls-pg-", dir=root))
    prefix: list[str] = []
    if os.geteuid() == 0:
        root.chmod(0o755)
        shutil.chown(data, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = subprocess.run
    run([*prefix, str(bin_dir / "initdb"), "-D", str(data / "d"), "-A", "trust", "-U",
         "postgres", "-E", "UTF8"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data}"
        " -c shared_buffers=256MB -c max_wal_size=4GB"
    )
    run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data / "d"), "-l", str(data / "log"),
         "-w", "start", "-o", options], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data / "d"), "-m", "fast", "-w",
             "stop"], check=False, stdout=subprocess.DEVNULL)  # fmt: skip


def fresh_pg_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (here: the PostgreSQL backend serving the writer)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_writes(url: str, posts: Sequence[Post], batch: int, session_sql: str | None = None,
                 *, without_gin: bool = False) -> dict[str, float]:  # fmt: skip
    """Writes every post through PostWriter into a fresh database: wall time per post, the
    writer's own CPU and, on PostgreSQL, the CPU of the server backend that did the inserts.
    `without_gin` drops the full-text GIN index first (the tsvector is still computed): what
    the index itself costs."""
    engine = open_store(url)
    if without_gin:
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            names = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'posts'"
                " AND indexdef ILIKE '%using gin%'"
            ).fetchall()
            assert names, "no GIN index on posts"
            for (name,) in names:
                conn.execute(f'DROP INDEX "{name}"')
    backend: int | None = None
    with PostWriter(engine) as writer:
        dbapi = writer._dbapi  # a benchmark's session setting
        if session_sql is not None:
            dbapi.execute(session_sql)
        if writer.dialect == "postgresql":
            backend = int(dbapi.execute("SELECT pg_backend_pid()").fetchone()[0])
            wal0 = dbapi.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            dbapi.commit()
        server0 = _cpu_seconds(backend) if backend else 0.0
        started = time.perf_counter()
        cpu0 = time.process_time()
        inserted = 0
        for offset in range(0, len(posts), batch):
            inserted += writer.write(Batch(posts=list(posts[offset : offset + batch]))).inserted
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        server = (_cpu_seconds(backend) - server0) if backend else 0.0
        if backend:
            wal, size = dbapi.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s), pg_total_relation_size('posts')",
                (wal0,),
            ).fetchone()
            dbapi.commit()
    engine.dispose()
    assert inserted == len(posts), (inserted, len(posts))
    out = {
        "posts_per_s": round(len(posts) / wall),
        "us_per_post": us_per(wall, len(posts)),
        "writer_cpu_us_per_post": us_per(cpu, len(posts)),
    }
    if backend:
        out["server_cpu_us_per_post"] = us_per(server, len(posts))
        # WAL written and disk used (posts with its TOAST and every index) per post.
        out["wal_bytes_per_post"] = round(float(wal) / len(posts))
        out["disk_bytes_per_post"] = round(int(size) / len(posts))
    return out


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per key, the median of the runs (three runs: the middle one)."""
    return {key: sorted(r[key] for r in runs)[len(runs) // 2] for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--full", action="store_true", help="also the full door's models")
    parser.add_argument("--repeat", type=int, default=3, help="runs per broker/store figure")
    parser.add_argument(
        "--pg-url",
        help="an existing PostgreSQL to write to (its settings, not the durable private one)",
    )
    args = parser.parse_args()
    result: dict[str, object] = {"posts": args.posts, "loadavg_start": _loadavg()}
    table: list[tuple[str, float, str]] = []
    events = list(jetstream_events(args.posts))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        posts, seconds = decode_map(events)
        result["decode_map_us"] = us_per(seconds, len(events))
        table.append(("decode + map (Jetstream frame)", result["decode_map_us"], "CPU"))  # type: ignore[arg-type]
        enriched, door = door_stages(posts, settings_for(root, args.full))
        result["door_us"] = {name: us_per(s, len(posts)) for name, s in door.items()}
        for name, s in door.items():
            table.append((f"door: {name}", us_per(s, len(posts)), "CPU"))
        result["door_total_us"] = us_per(sum(door.values()), len(posts))
        table.append(("door: total", result["door_total_us"], "CPU"))  # type: ignore[arg-type]
        packed = msgpack_costs(enriched)
        result["msgpack"] = packed
        table.append(("msgpack encode Post", packed["encode_us"], f"{packed['bytes_median']} B"))
        table.append(("msgpack decode Post", packed["decode_us"], "CPU"))
        blobs = [msgspec.msgpack.encode(p) for p in enriched]
        result["redis"] = {}
        with redis_server(root) as (redis_url, redis_pid):
            for batch in (100, 500):
                runs = [redis_round_trip(redis_url, redis_pid, blobs, batch)
                        for _ in range(args.repeat)]  # fmt: skip
                costs = median_of(runs)
                result["redis"][str(batch)] = costs  # type: ignore[index]
                for key in ("xadd_us", "xreadgroup_us", "xack_us", "round_trip_us",
                            "client_cpu_us", "server_cpu_us"):  # fmt: skip
                    note = {"server_cpu_us": "Redis CPU", "client_cpu_us": "client CPU"}.get(
                        key, "wall, client"
                    )
                    table.append((f"redis {key[:-3]} (batch {batch})", costs[key], note))
        result["postgres"] = {}
        with contextlib.ExitStack() as stack:
            admin = args.pg_url or stack.enter_context(private_postgres(root))
            result["postgres_server"] = (
                "given" if args.pg_url else "private, fsync on, shared_buffers 256MB"
            )
            for sync in ("on", "off"):
                for batch in (500, 2000):
                    runs = []
                    for _ in range(args.repeat):
                        url = fresh_pg_database(admin, f"bench_{sync}_{batch}")
                        runs.append(timed_writes(url, enriched, batch,
                                                 f"SET synchronous_commit = {sync}"))  # fmt: skip
                    costs = median_of(runs)
                    key = f"sync_{sync}_batch_{batch}"
                    result["postgres"][key] = costs  # type: ignore[index]
                    table.append((f"postgres write, sync {sync}, batch {batch}",
                                  costs["us_per_post"], _pg_note(costs)))  # fmt: skip
            runs = []
            for _ in range(args.repeat):
                url = fresh_pg_database(admin, "bench_nogin")
                runs.append(timed_writes(url, enriched, 2000, "SET synchronous_commit = off",
                                         without_gin=True))  # fmt: skip
            costs = median_of(runs)
            result["postgres"]["sync_off_batch_2000_without_gin"] = costs  # type: ignore[index]
            table.append(("postgres write, sync off, 2000, no GIN", costs["us_per_post"],
                          _pg_note(costs)))  # fmt: skip
        result["sqlite"] = {}
        for batch in (500, 2000):
            costs = median_of(
                [timed_writes(f"sqlite:///{root / f'sqlite_{batch}_{i}.db'}", enriched, batch)
                 for i in range(args.repeat)]
            )  # fmt: skip
            result["sqlite"][str(batch)] = costs  # type: ignore[index]
            table.append((f"sqlite write, batch {batch}", costs["us_per_post"],
                          f"{costs['posts_per_s']:,} posts/s; CPU "
                          f"{costs['writer_cpu_us_per_post']} µs"))  # fmt: skip
    result["loadavg_end"] = _loadavg()
    print(f"{len(posts)} real-format Jetstream posts, {'full' if args.full else 'core'} door, "
          f"load average {result['loadavg_start']} → {result['loadavg_end']}")  # fmt: skip
    print(f"{'stage (medians of ' + str(args.repeat) + ' runs)':<40} {'µs/post':>10}  note")
    for name, value, note in table:
        print(f"{name:<40} {value:>10.2f}  {note}")
    print(json.dumps(result))


def _pg_note(costs: dict[str, float]) -> str:
    return (
        f"{costs['posts_per_s']:,} posts/s; CPU writer {costs['writer_cpu_us_per_post']}"
        f" + server {costs['server_cpu_us_per_post']} µs; WAL {costs['wal_bytes_per_post']} B,"
        f" disk {costs['disk_bytes_per_post']} B"
    )


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
