"""Resident memory of `stadspuls run` after a day of a busy stream, per process, and who holds it.

1. Records a day: N real-format Jetstream events (the wire format, `bench/ingest.py`'s shape)
   around the real texts of ../shared/data, with created_at spread over 24 hours along a daily
   rhythm (quiet at night, a peak in the evening), 1 % of them deletions of earlier posts.
   The default, 500,000 posts a day (5.8 a second, 25 a second in the evening peak), is a busy
   national Dutch stream: about what Dutch Twitter carried on an ordinary day in its heyday,
   ten times Dutch-language Bluesky and Mastodon together today. It also fills the door's
   near-duplicate memory (200,000 posts) two and a half times over.
2. In a fresh folder (SQLite default, `./var/stadspuls.db`, keys in `./var/secrets`): an admin
   and an API token through the CLI, then `stadspuls run --no-collect` serves while 1,000
   monitors (bench/match.py's generator over the real vocabulary) are created through the API.
3. `stadspuls run --replay day.jsonl --speed 0` (the README's command; the full door with every
   model in its child process, every default consumer and detector) replays the day as fast as
   it can be stored, while a client reads the API every 10 s (overview, a monitor's view, a
   search, alerts, /health). Every second the RSS, USS and PSS of the main process and of each
   child (the door) are sampled. When the replay has finished and every consumer has caught up,
   it samples 20 s more ("final"), then stops the server with Ctrl-C (SIGINT).
4. Each big holder measured alone in a fresh process on the stored day (`--component NAME`):
   the dedup index seeded from the store, the matcher of the 1,000 monitors, each model, each
   detector's state restored from its checkpoint, and the SQLite page cache one connection
   fills on the reads the consumers make.

    python bench/memory.py [--posts 500000] [--monitors 1000] [--keep DIR]
        [--env MALLOC_ARENA_MAX=2] [--skip-components]

The last line is one JSON object: {"rss_peak_mib", "rss_final_mib", "per_process", "posts", …}.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts

REPO = Path(__file__).resolve().parents[1]
STADSPULS = Path(sys.executable).with_name("stadspuls")
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
MIB = 1024 * 1024
START = datetime(2026, 11, 2, tzinfo=UTC)
# Relative activity per hour of the day (Dutch social media: quiet at night, a morning rise,
# the evening peak around 21:00); the 24 weights sum to 24 * mean.
HOURLY = [0.25, 0.15, 0.1, 0.08, 0.08, 0.15, 0.4, 0.8, 1.1, 1.2, 1.2, 1.25,
          1.3, 1.25, 1.2, 1.2, 1.3, 1.4, 1.5, 1.7, 1.9, 2.0, 1.6, 0.8]  # fmt: skip


# -- 1. the recording ------------------------------------------------------------------------


def _times(n: int, hours: float, rng: random.Random) -> list[datetime]:
    """n creation times over `hours`, following HOURLY (repeated for days after the first)."""
    weights = [HOURLY[h % 24] for h in range(math.ceil(hours))]
    hour = rng.choices(range(len(weights)), weights, k=n)
    offsets = sorted((h + rng.random()) * 3600 for h in hour)
    return [START + timedelta(seconds=min(s, hours * 3600 - 0.001)) for s in offsets]


def _variant(text: str, words: list[str], rng: random.Random) -> str:
    """The text with one to three words of the corpus put in: a new post on the same theme
    (no longer an exact copy, often still a near duplicate of the original)."""
    tokens = text.split()
    for _ in range(rng.randint(1, 3)):
        tokens.insert(rng.randint(0, len(tokens)), rng.choice(words))
    return " ".join(tokens)


def write_day(path: Path, n: int, hours: float, seed: int = 14) -> dict[str, int]:
    """Write the recording (JSON Lines of Jetstream events); returns what it holds."""
    rng = random.Random(seed)
    texts = real_texts()
    rng.shuffle(texts)
    words = sorted({w for text, _ in texts[:5000] for w in text.split() if w.isalpha()})
    dids = ["did:plc:" + "".join(rng.choices(ALPHABET, k=24)) for _ in range(60_000)]
    # A few accounts post much more than others (Zipf-like activity).
    authors = iter(rng.choices(dids, [1 / (rank + 1) ** 0.8 for rank in range(len(dids))], k=n))
    encode = msgspec.json.Encoder().encode
    posted: list[tuple[str, str]] = []
    counts = {"posts": 0, "deletions": 0}
    with path.open("wb") as out:
        for i, created in enumerate(_times(n, hours, rng)):
            time_us = int(created.timestamp() * 1e6) + i % 1000
            if posted and rng.random() < 0.01:
                did, rkey = posted[rng.randrange(len(posted))]
                event: dict[str, Any] = {
                    "did": did, "time_us": time_us, "kind": "commit",
                    "commit": {"rev": "3l" + rkey, "operation": "delete",
                               "collection": "app.bsky.feed.post", "rkey": rkey},
                }  # fmt: skip
                counts["deletions"] += 1
            else:
                text, lang = texts[i % len(texts)]
                if i >= len(texts):
                    text = _variant(text, words, rng)
                did = next(authors)
                rkey = "3l" + "".join(rng.choices(ALPHABET, k=11))
                record: dict[str, Any] = {
                    "$type": "app.bsky.feed.post",
                    "createdAt": created.isoformat().replace("+00:00", "Z"),
                    "text": text[:3000],
                }
                if lang:
                    record["langs"] = [lang]
                event = {
                    "did": did, "time_us": time_us, "kind": "commit",
                    "commit": {"rev": "3l" + rkey, "operation": "create",
                               "collection": "app.bsky.feed.post", "rkey": rkey,
                               "record": record,
                               "cid": "bafyrei" + "".join(rng.choices(ALPHABET, k=52))},
                }  # fmt: skip
                posted.append((did, rkey))
                counts["posts"] += 1
            out.write(encode(event) + b"\n")
    return counts


def monitor_queries(n: int) -> list[str]:
    from match import make_monitors, vocabulary

    words, pairs, tags = vocabulary(real_texts())
    return make_monitors(words, pairs, tags, n)


# -- 2. the store, the admin and the monitors, through the CLI and the API ------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(work: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(STADSPULS), *args], cwd=work, env=env, input=stdin, text=True,
        capture_output=True, check=False,
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"stadspuls {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _wait_up(base: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("stadspuls run ended before it served")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    sys.exit("stadspuls run did not answer /health in time")


def _stop(process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def create_monitors(work: Path, env: dict[str, str], token: str, queries: list[str]) -> float:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(STADSPULS), "run", "--no-collect", "--port", str(port)],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_up(base, process)
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for i, query in enumerate(queries):
                answer = client.post(
                    "/api/monitors",
                    json={"name": f"m{i:04d}", "query": query, "purpose": "memory benchmark",
                          "legal_basis": "public-task", "retention_days": 30},
                )  # fmt: skip
                if answer.status_code != 201:
                    sys.exit(f"monitor {query!r}: {answer.status_code} {answer.text}")
        return time.monotonic() - started
    finally:
        _stop(process)


# -- 3. the run, sampled ---------------------------------------------------------------------


def _role(process: psutil.Process, main_pid: int) -> str:
    if process.pid == main_pid:
        return "main"
    with contextlib.suppress(psutil.Error):
        line = " ".join(process.cmdline())
        if "resource_tracker" in line:
            return "resource_tracker"
        if "multiprocessing" in line or "spawn_main" in line:
            return "door"
        return process.name()
    return "child"


class Sampler:
    """Every `interval` seconds: RSS, USS and PSS (MiB) of the main process and its children,
    and the main process's open handles on the database file (its SQLite connections)."""

    def __init__(self, pid: int, database: Path, interval: float = 1.0) -> None:
        self.main = psutil.Process(pid)
        self.database = str(database)
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> dict[str, Any]:
        row: dict[str, Any] = {"t": round(time.monotonic() - self.started, 1), "procs": {}}
        try:
            processes = [self.main, *self.main.children(recursive=True)]
        except psutil.Error:
            return row
        for process in processes:
            with contextlib.suppress(psutil.Error):
                info = process.memory_full_info()
                role = _role(process, self.main.pid)
                row["procs"][role] = {
                    "rss": info.rss / MIB,
                    "uss": info.uss / MIB,
                    "pss": getattr(info, "pss", info.uss) / MIB,
                    "threads": process.num_threads(),
                }
        with contextlib.suppress(psutil.Error):
            row["db_handles"] = sum(1 for f in self.main.open_files() if f.path == self.database)
        return row

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def latest(self) -> dict[str, Any]:
        return self.samples[-1] if self.samples else {"procs": {}}


class StderrWatcher:
    """Reads the run's stderr: keeps its lines and notes when the replay has finished."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if line.startswith(("replay:", "replay finished")):
                print(f"  {line}", flush=True)
            if line.startswith("replay finished"):
                self.finished.set()


def _reader(base: str, token: str, monitor_ids: list[int], stop: threading.Event) -> None:
    """An analyst's dashboard reads every 10 s, so the web app's caches fill as they would."""
    rng = random.Random(3)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        while not stop.wait(10):
            monitor = rng.choice(monitor_ids)
            for path in ("/health", "/api/overview", f"/api/monitors/{monitor}/view",
                         "/api/posts?q=politie OR brand&limit=50", "/api/alerts?limit=50",
                         "/api/map"):  # fmt: skip
                with contextlib.suppress(httpx.HTTPError):
                    client.get(path)


def _lagging(base: str) -> int | None:
    try:
        health = httpx.get(f"{base}/health", timeout=30).json()
    except (httpx.HTTPError, ValueError):
        return None
    return sum(int(c["lag"] or 0) for c in health["consumers"])


def run_day(
    work: Path, env: dict[str, str], token: str, recording: Path, settle_s: float
) -> tuple[Sampler, dict[str, Any]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(STADSPULS), "run", "--replay", str(recording), "--speed", "0",
               "--port", str(port), "--progress-every", "60"]  # fmt: skip
    print(f"$ {' '.join(command)}   (in {work})", flush=True)
    process = subprocess.Popen(
        command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sampler = Sampler(process.pid, work / "var" / "stadspuls.db")
    sampler.start()
    watcher = StderrWatcher(process.stderr)
    stop_reader = threading.Event()
    timings: dict[str, Any] = {}
    try:
        _wait_up(base, process)
        headers = {"Authorization": f"Bearer {token}"}
        monitor_ids = [m["id"] for m in httpx.get(f"{base}/api/monitors", headers=headers,
                                                    timeout=60).json()]  # fmt: skip
        reader = threading.Thread(
            target=_reader, args=(base, token, monitor_ids, stop_reader), daemon=True
        )
        reader.start()
        began = time.monotonic()
        while not watcher.finished.wait(5):
            if process.poll() is not None:
                sys.exit("stadspuls run ended during the replay:\n" + "\n".join(watcher.lines))
        timings["replayed_s"] = round(time.monotonic() - began, 1)
        while _lagging(base) != 0:
            if process.poll() is not None:
                sys.exit("stadspuls run ended before its consumers caught up")
            time.sleep(5)
        timings["caught_up_s"] = round(time.monotonic() - began, 1)
        print(f"  every consumer caught up after {timings['caught_up_s']} s", flush=True)
        stop_reader.set()
        reader.join()
        settled_from = time.monotonic() - sampler.started
        time.sleep(settle_s)
        timings["final_from_t"] = round(settled_from, 1)
        health = httpx.get(f"{base}/health", timeout=30).json()
        timings["stored_posts"] = health["posts"]
    finally:
        stop_reader.set()
        sampler.stop()
        _stop(process)
    timings["stderr_tail"] = watcher.lines[-3:]
    return sampler, timings


# -- 4. the components alone -----------------------------------------------------------------


def _rss() -> float:
    return psutil.Process().memory_info().rss / MIB


def _measure(build: Callable[[], Any]) -> dict[str, float]:
    """RSS growth (what C libraries allocate too) and Python's own allocations (tracemalloc)
    of building `build()` and keeping the result."""
    gc.collect()
    before = _rss()
    tracemalloc.start()
    kept = build()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    after = _rss()
    del kept
    return {"rss_mib": round(after - before, 1), "traced_mib": round(traced / MIB, 1)}


def component(name: str, work: Path) -> dict[str, float]:
    """One holder of memory, alone, in this (fresh) process."""
    os.chdir(work)
    from stadspuls.settings import Settings
    from stadspuls.store.database import open_store

    settings = Settings()
    engine = open_store(settings.db_url, migrate=False)
    if name == "dedup":
        from stadspuls.enrich.dedup import Deduplicator
        from stadspuls.store.posts import recent_fingerprints

        def seeded() -> Any:
            dedup = Deduplicator(window=settings.dedup_window)
            dedup.seed(recent_fingerprints(engine, dedup.index.window))
            return dedup

        return _measure(seeded)
    if name == "matcher":
        from stadspuls.query.matcher import MonitorMatcher
        from stadspuls.store.monitors import list_monitors

        found = list_monitors(engine, active_only=True)
        return _measure(lambda: MonitorMatcher({m.id: m.query for m in found}))
    if name in ("language", "places", "sentiment", "crisis"):
        from stadspuls.enrich.door import OPTIONAL
        from stadspuls.records import Post

        text = "Grote brand in een loods aan de Stationsstraat in Lochem, veel rook"
        post = Post(id="x:1", source="bench", native_id="1", created_at=START, text=text)

        def model() -> Any:
            if name == "language":
                from stadspuls.enrich.language import LanguageIdentifier

                enricher: Any = LanguageIdentifier(settings.languages)
            else:
                import importlib

                module, attribute = OPTIONAL[name]
                enricher = getattr(importlib.import_module(module), attribute)()
            warm_up = getattr(enricher, "warm_up", None)
            if callable(warm_up):
                warm_up()  # what it would otherwise load with its first batches (lingua)
            enricher([post])
            return enricher

        return _measure(model)
    if name.startswith("detector:"):
        import sqlalchemy as sa

        from stadspuls.detect.consumer import Checkpoint
        from stadspuls.detect.registry import build
        from stadspuls.store.schema import consumers as table

        with engine.connect() as conn:
            state = conn.execute(
                sa.select(table.c.state).where(table.c.name == name)
            ).scalar_one_or_none()
        if state is None:
            return {"rss_mib": 0.0, "traced_mib": 0.0, "snapshot_mib": 0.0}

        def restored() -> Any:
            detector = build(name.removeprefix("detector:"))
            detector.restore(msgspec.msgpack.decode(state, type=Checkpoint).state)
            return detector

        return {**_measure(restored), "snapshot_mib": round(len(state) / MIB, 1)}
    if name.startswith("sqlite_connection"):
        from stadspuls.store.consumers import posts_after

        if name != "sqlite_connection":  # sqlite_connection_64: a cache of 64 MiB (before)
            engine.dispose()
            engine = open_store(settings.db_url, migrate=False, cache_mib=int(name.split("_")[-1]))

        def read_day() -> Any:
            conn = engine.connect()
            after = 0
            while rows := posts_after(conn, after, 2000):
                after = rows[-1][0]
            conn.exec_driver_sql("SELECT count(*) FROM monitor_posts").scalar()
            return conn

        result = _measure(read_day)
        with engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
            size = conn.exec_driver_sql("PRAGMA page_size").scalar() or 0
            cache = conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0
        cache_mib = -cache / 1024 if cache < 0 else cache * size / MIB
        return {**result, "db_file_mib": round(pages * size / MIB, 1),
                "cache_size_mib": round(cache_mib, 1)}  # fmt: skip
    raise SystemExit(f"unknown component {name!r}")


COMPONENTS = (
    "dedup",
    "matcher",
    "language",
    "places",
    "sentiment",
    "crisis",
    "sqlite_connection",
    "sqlite_connection_64",
)


def measure_components(work: Path, env: dict[str, str]) -> dict[str, dict[str, float]]:
    from stadspuls.detect.registry import BUILTIN

    results = {}
    for name in (*COMPONENTS, *(f"detector:{d}" for d in BUILTIN)):
        done = subprocess.run(
            [sys.executable, __file__, "--component", name, "--keep", str(work)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            print(f"  {name}: failed\n{done.stderr[-2000:]}", flush=True)
            continue
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {name:<26} {results[name]}", flush=True)
    return results


# -- the report ------------------------------------------------------------------------------


def summarise(sampler: Sampler, final_from: float) -> dict[str, dict[str, float]]:
    per: dict[str, dict[str, float]] = {}
    for row in sampler.samples:
        for role, m in row["procs"].items():
            entry = per.setdefault(role, {"rss_peak_mib": 0.0, "uss_peak_mib": 0.0})
            entry["rss_peak_mib"] = max(entry["rss_peak_mib"], m["rss"])
            entry["uss_peak_mib"] = max(entry["uss_peak_mib"], m["uss"])
    finals = [row for row in sampler.samples if row["t"] >= final_from and row["procs"]]
    last = finals[-1] if finals else sampler.latest()
    for role, m in last["procs"].items():
        per[role].update(
            rss_final_mib=m["rss"], uss_final_mib=m["uss"], pss_final_mib=m["pss"],
            threads=m["threads"],
        )  # fmt: skip
    return {r: {k: round(v, 1) for k, v in e.items()} for r, e in per.items()}


def _totals(sampler: Sampler, final_from: float) -> tuple[float, float, float, float]:
    """Peak and final of the sum over processes: RSS (counts shared pages twice) and PSS."""
    rss = [sum(m["rss"] for m in row["procs"].values()) for row in sampler.samples]
    pss = [sum(m["pss"] for m in row["procs"].values()) for row in sampler.samples]
    finals = [i for i, row in enumerate(sampler.samples) if row["t"] >= final_from]
    last = finals[-1] if finals else len(rss) - 1
    return max(rss), rss[last], max(pss), pss[last]


def _env(extra: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STADSPULS_")}
    for item in extra:
        key, _, value = item.partition("=")
        env[key] = value
    return env


def _timeline(sampler: Sampler, every: int = 60) -> Iterator[str]:
    for row in sampler.samples[::every]:
        parts = [f"{role} {m['rss']:.0f}" for role, m in sorted(row["procs"].items())]
        handles = row.get("db_handles")
        yield f"  t={row['t']:>6.0f} s  RSS MiB: {', '.join(parts)}; db handles {handles}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=500_000, help="events in the day")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds sampled at the end")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE for the run (e.g. MALLOC_ARENA_MAX=2)"
    )
    parser.add_argument("--skip-components", action="store_true")
    parser.add_argument("--component", help=argparse.SUPPRESS)  # one holder, in this process
    args = parser.parse_args()
    if args.component:
        print(json.dumps(component(args.component, args.keep)))
        return
    with contextlib.ExitStack() as stack:
        if args.keep:
            work = args.keep.resolve()
            work.mkdir(parents=True, exist_ok=True)
            if (work / "var").exists():
                sys.exit(f"{work}/var exists: give an empty folder")
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="memory-")))
        env = _env(args.env)
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        recording = work / "day.jsonl"
        started = time.monotonic()
        held = write_day(recording, args.posts, args.hours)
        print(f"recorded {held['posts']} posts and {held['deletions']} deletions over"
              f" {args.hours:g} h in {time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        _cli(work, env, "user", "add", "bench", "--role", "admin", "--password-stdin",
             stdin="memory-benchmark-password\n")  # fmt: skip
        token = _cli(work, env, "user", "token", "bench", "--name", "memory").strip()
        created_s = create_monitors(work, env, token, monitor_queries(args.monitors))
        print(f"created {args.monitors} monitors through the API in {created_s:.0f} s", flush=True)
        sampler, timings = run_day(work, env, token, recording, args.settle)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        per_process = summarise(sampler, timings["final_from_t"])
        rss_peak, rss_final, pss_peak, pss_final = _totals(sampler, timings["final_from_t"])
        print("resident memory over the run (one line a minute):")
        for line in _timeline(sampler):
            print(line)
        print("per process (MiB):")
        for role, entry in per_process.items():
            print(f"  {role:<18} {entry}")
        handles = [row.get("db_handles", 0) or 0 for row in sampler.samples]
        print(f"SQLite connections of the main process (handles on the file): max {max(handles)},"
              f" at the end {handles[-1]}")  # fmt: skip
        components = {} if args.skip_components else None
        if components is None:
            print("the big holders, each alone in a fresh process on the stored day:")
            components = measure_components(work, env)
        result = {
            "rss_peak_mib": round(rss_peak, 1),
            "rss_final_mib": round(rss_final, 1),
            "pss_peak_mib": round(pss_peak, 1),
            "pss_final_mib": round(pss_final, 1),
            "per_process": per_process,
            "posts": timings.get("stored_posts"),
            "events": held,
            "monitors": args.monitors,
            "replayed_s": timings.get("replayed_s"),
            "caught_up_s": timings.get("caught_up_s"),
            "sqlite_connections_max": max(handles),
            "components": components,
            "env": args.env,
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        }
        with contextlib.suppress(OSError):
            (work / "samples.json").write_text(json.dumps(sampler.samples))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
