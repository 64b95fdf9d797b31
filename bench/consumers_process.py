"""`stadspuls worker consumers` across processes: how long a stored post takes to reach the
linker in another process (it polls: there is no wake-up from the writer across processes), and
how long a standby replica takes to run the linker after the active one is killed.

1. Latency: one replica (`--only linker`) with `consumer_poll_s` = each of `--poll`; a post is
   committed every ~0.3 s (random offset) by this process; the time from just after its commit
   to the linker's cursor passing it, observed every 2 ms.
2. Failover: two replicas (`--check-every` 1 s, poll 0.2 s); SIGKILL the one running the linker,
   commit a post, time until the standby's linker has it. Repeated `--failovers` times (a new
   replica is started each time to be the next standby).

    python bench/consumers_process.py --db postgresql://… [--posts 40] [--poll 1.0,0.2]

Needs PostgreSQL (`scripts/test-services.sh start`: STADSPULS_TEST_PG_URL is used when --db is
not given). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stadspuls.monitors import create
from stadspuls.records import Monitor
from stadspuls.store.database import create_engine, open_store
from stadspuls.store.schema import consumers
from stadspuls.store.writer import Batch, PostWriter
from tests.factories import make_post

WORKER = [sys.executable, "-m", "stadspuls.cli", "worker", "consumers", "--only", "linker"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _cursor(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(consumers.c.last_pk).where(consumers.c.name == "linker")
        ).scalar()
    return -1 if found is None else int(found)


def _store(engine: sa.Engine, writer: PostWriter, n: int) -> int:
    writer.write(Batch(posts=[make_post(n, f"brand in de Kerkstraat ({n})", author=None)]))
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT max(pk) FROM posts")).scalar_one())


def _wait_cursor(engine: sa.Engine, pk: int, timeout: float = 60.0) -> float:
    began = time.perf_counter()
    while _cursor(engine) < pk:
        if time.perf_counter() - began > timeout:
            raise TimeoutError(f"the linker did not reach post {pk} in {timeout} s")
        time.sleep(0.002)
    return time.perf_counter() - began


class Replicas:
    def __init__(self, db_url: str, env: dict[str, str], logs: Path) -> None:
        self.db_url = db_url
        self.env = env
        self.logs = logs
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.logs / f"replica-{len(self.running)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*WORKER, "--db", self.db_url, *extra], env=self.env, stderr=out
            )
        self.running.append((process, log))
        return process, log

    def stop(self) -> None:
        for process, _ in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        self.running = []


def _fresh_database(base: str) -> tuple[str, sa.Engine]:
    name = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return base.rsplit("/", 1)[0] + "/" + name, admin


def _running_linker(log: Path) -> bool:
    return "consumer linker: lease taken" in log.read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("STADSPULS_TEST_PG_URL"))
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--poll", default="1.0,0.2")
    parser.add_argument("--failovers", type=int, default=5)
    args = parser.parse_args()
    if not args.db or not args.db.startswith("postgres"):
        parser.error("needs --db postgresql://… (or STADSPULS_TEST_PG_URL)")
    db_url, admin = _fresh_database(args.db)
    engine = open_store(db_url)
    watch = Monitor(name="brand", query="kerkstraat", owner="bench", purpose="bench",
                    legal_basis="public-task", retention_days=30)  # fmt: skip
    create(engine, watch)
    logs = Path(tempfile.mkdtemp(prefix="consumers-bench-"))
    env = {**os.environ, "STADSPULS_KEY_FILE": str(logs / "key"),
           "STADSPULS_CLUSTER__BROKER_URL": os.environ.get("STADSPULS_TEST_REDIS_URL",
                                                            "redis://127.0.0.1:1/0")}  # fmt: skip
    result: dict[str, object] = {"load_before": Path("/proc/loadavg").read_text().split()[:3]}
    n = 0
    latency: dict[str, dict[str, float]] = {}
    with PostWriter(engine) as writer:
        for poll in [float(p) for p in args.poll.split(",")]:
            replicas = Replicas(db_url, {**env, "STADSPULS_CONSUMER_POLL_S": str(poll)}, logs)
            _, log = replicas.start("--check-every", "1")
            while not _running_linker(log):
                time.sleep(0.05)
            n += 1
            _wait_cursor(engine, _store(engine, writer, n))
            seen = []
            for _ in range(args.posts):
                time.sleep(0.3 + random.random() * poll)
                n += 1
                seen.append(_wait_cursor(engine, _store(engine, writer, n)))
            replicas.stop()
            latency[f"{poll:g}"] = {
                "median_s": round(statistics.median(seen), 3),
                "p95_s": round(_percentile(seen, 0.95), 3),
                "max_s": round(max(seen), 3),
            }
            print(f"poll {poll:g} s: commit → linker {latency[f'{poll:g}']}", file=sys.stderr)
        result["commit_to_linker"] = latency
        replicas = Replicas(db_url, {**env, "STADSPULS_CONSUMER_POLL_S": "0.2"}, logs)
        active, log = replicas.start("--check-every", "1")
        while not _running_linker(log):
            time.sleep(0.05)
        takeovers = []
        for _ in range(args.failovers):
            standby, standby_log = replicas.start("--check-every", "1")
            while "standing by" not in standby_log.read_text():
                time.sleep(0.05)
            time.sleep(1.5)  # the standby has tried the lock and found it taken
            active.send_signal(signal.SIGKILL)
            active.wait()
            killed = time.perf_counter()
            n += 1
            pk = _store(engine, writer, n)
            _wait_cursor(engine, pk)
            takeovers.append(time.perf_counter() - killed)
            print(f"failover: linked {takeovers[-1]:.2f} s after the kill", file=sys.stderr)
            active, log = standby, standby_log
        replicas.stop()
    result["failover_s"] = {
        "median": round(statistics.median(takeovers), 3),
        "max": round(max(takeovers), 3),
        "runs": len(takeovers),
    }
    result["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
    engine.dispose()
    name = db_url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
