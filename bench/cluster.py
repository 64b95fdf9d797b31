"""The fault benchmark of the scale-out (issue 13): processes on Redis Streams and PostgreSQL,
killed and restarted while they work, and then counted.

    python bench/cluster.py --data FILE.jsonl [--workers 1,2] [--door core|full]

Starts PostgreSQL and Redis with the project's own scripts/test-services.sh, in a private
folder (a copy of the layout the script expects: a `scripts/test-services.sh` link beside a
`var/`), so the test servers of this checkout are not touched. For each number of door
workers N: a fresh database and a fresh stream prefix; the writer, N door workers
(`stadspuls worker door`) and one collector replaying FILE as fast as it can
(`stadspuls worker collector --jetstream-file FILE`). While the run is busy it

1. restarts Redis (`test-services.sh restart-redis`, at ~3 % of the expected posts stored,
   while the collector is still publishing),
2. kills one door worker with SIGKILL and starts a new one (at ~25 %),
3. restarts PostgreSQL (`test-services.sh restart-pg`, at ~60 %),

each recorded with its time and how far the run was. Like systemd's `Restart=on-failure`, a
process that exits by itself with an error is started again, and that is recorded too. When the
collector is done and every stream is drained (no entry pending or unread in any group), it
counts what is stored against what the file holds, computed here from the file alone with the
mapping's rules (creates minus deletes, each post once): stored, expected, missing, duplicates
(the same (source, native_id) stored under two ids, or a post id twice), deletes not honoured,
and posts/s (expected posts over the seconds from the collector's start to the drained end).

The last line is one JSON object:
{"stored": …, "duplicates": …, "posts_per_s": {"1": …, "2": …}, "faults": [ … ], "expected": …,
 "missing": …, "runs": {"1": {…}, "2": {…}}, …}
where stored, expected, missing, duplicates and deletes_not_honoured are summed over the runs
(each run's own counts, its replay cursor and its streams are under "runs"), and "restarts"
lists any process that exited by itself and was started again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "test-services.sh"
POST = "app.bsky.feed.post"
SOURCE = "bluesky"
# The console script installed beside this interpreter (make install).
STADSPULS = str(Path(sys.executable).parent / "stadspuls")


# --- What the file holds, computed from the file alone --------------------------------------


@dataclass
class Expected:
    """The posts a Jetstream recording creates and deletes, by platform id ("bluesky:did/rkey")."""

    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    lines: int = 0
    other: int = 0  # events that are no post and no deletion (likes, identity, updates, …)
    malformed: int = 0
    repeated: int = 0  # a create of an id already created (a re-sent frame)
    items: int = 0  # posts and deletions, repeats included: what a replay's cursor counts
    last_time_us: int = 0

    @property
    def unique(self) -> set[str]:
        return self.created - self.deleted


def expected_from_file(path: Path) -> Expected:
    """Creates minus deletes, with the rules of stadspuls.sources.jetstream.map_event, written
    again here with the json module so the count does not depend on the code it checks: a
    "commit" of collection app.bsky.feed.post with operation "create" and a record holding a
    text is a post, id "bluesky:" + did + "/" + rkey; operation "delete" deletes that id
    (also when the deletion comes first); everything else is not a post."""
    out = Expected()
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            out.lines += 1
            try:
                event = json.loads(line)
                did, kind, time_us = event["did"], event["kind"], event["time_us"]
            except (ValueError, KeyError, TypeError):
                out.malformed += 1
                continue
            if isinstance(time_us, int):
                out.last_time_us = max(out.last_time_us, time_us)
            commit = event.get("commit")
            if kind != "commit" or not isinstance(commit, dict) or commit.get("collection") != POST:
                out.other += 1
                continue
            raw_id = f"{SOURCE}:{did}/{commit.get('rkey')}"
            operation = commit.get("operation")
            if operation == "delete":
                out.items += 1
                out.deleted.add(raw_id)
            elif operation == "create":
                record = commit.get("record")
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    out.malformed += 1
                elif raw_id in out.created:
                    out.items += 1
                    out.repeated += 1
                else:
                    out.items += 1
                    out.created.add(raw_id)
            else:
                out.other += 1  # an update: posts are immutable in the app
    return out


def count_store(url: str, expected: Expected, stored_id: Any) -> dict[str, int]:
    """Counts in the database at `url` against `expected`; `stored_id` maps a platform id to
    the id the door stores it under (the pseudonymiser's keyed hash)."""
    import psycopg

    want = {stored_id(raw) for raw in expected.unique}
    gone = {stored_id(raw) for raw in expected.deleted}
    with psycopg.connect(url) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM posts")]
        (twice_native,) = conn.execute(
            "SELECT count(*) - count(DISTINCT (source, native_id)) FROM posts"
        ).fetchone()  # type: ignore[misc]
        (tombstones,) = conn.execute("SELECT count(*) FROM tombstones").fetchone()  # type: ignore[misc]
        # The replay's stored cursor: items of the file covered (stored, or done) in order.
        cursors = [
            int(row[0])
            for row in conn.execute("SELECT cursor FROM cursors WHERE stream LIKE 'replay:%'")
        ]
    have = set(ids)
    return {
        "stored": len(ids),
        "expected": len(want),
        "missing": len(want - have),
        "unexpected": len(have - want - gone),
        "duplicates": (len(ids) - len(have)) + int(twice_native),
        "deletes_not_honoured": len(have & gone),
        "tombstones": int(tombstones),
        "cursor": max(cursors, default=0),
        "cursor_expected": expected.items,
    }


# --- The servers, through the project's script ----------------------------------------------


class Services:
    """scripts/test-services.sh run from a private folder: the script works in the folder
    above the one it is started from, so a link to it in PRIVATE/scripts gives it PRIVATE/var."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "scripts").mkdir(parents=True, exist_ok=True)
        link = root / "scripts" / "test-services.sh"
        if not link.exists():
            link.symlink_to(SCRIPT)
        self.script = link
        if os.geteuid() == 0:
            root.chmod(0o755)  # PostgreSQL runs as the postgres user and must reach var/

    def run(self, command: str) -> None:
        subprocess.run(["bash", str(self.script), command], check=True, cwd=self.root)

    def urls(self) -> tuple[str, str]:
        env: dict[str, str] = {}
        for line in (self.root / "var" / "test-services.env").read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
        pg, redis_url = env.get("STADSPULS_TEST_PG_URL"), env.get("STADSPULS_TEST_REDIS_URL")
        if not pg or not redis_url:
            sys.exit(f"test-services.sh did not start both servers: {env}")
        return pg, redis_url


# --- The processes ----------------------------------------------------------------------------


@dataclass
class Proc:
    kind: str
    name: str
    args: list[str]
    popen: subprocess.Popen[bytes]
    log: Path
    killed: bool = False  # by the benchmark, on purpose: not restarted


class Cluster:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[Proc] = []
        self.started = 0

    def start(self, kind: str, name: str, *extra: str) -> Proc:
        self.started += 1
        log = self.logs / f"{self.started:02d}-{name}.log"
        args = [STADSPULS, "worker", kind, "--name", name, *extra]
        with log.open("wb") as out:
            popen = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        proc = Proc(kind, name, args, popen, log)
        self.procs.append(proc)
        return proc

    def restart(self, proc: Proc) -> Proc:
        self.procs.remove(proc)
        self.started += 1
        log = self.logs / f"{self.started:02d}-{proc.name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(proc.args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        again = Proc(proc.kind, proc.name, proc.args, popen, log)
        self.procs.append(again)
        return again

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()


def _tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(errors="replace").splitlines()
    return " | ".join(text[-lines:])


# --- Progress and the end -----------------------------------------------------------------


def stored_now(url: str) -> int | None:
    """Posts stored so far, or None while PostgreSQL cannot be reached (a restart)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return None


def undrained(redis_url: str, prefix: str, cap: int = 1_000_000) -> int | None:
    """Entries pending or not yet delivered, summed over every group of every stream under
    the prefix; None while Redis cannot be reached.

    Counted from the entries themselves (XRANGE after the group's last-delivered id), not from
    XINFO's `lag`: after a restart of Redis 7.0 on its AOF, with the stream trimmed, `lag` was
    seen to stay at thousands while the stream was empty and every entry acknowledged."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        total = 0
        for key in client.scan_iter(match=f"{prefix}:*", _type="stream"):
            last = client.xinfo_stream(key)["last-generated-id"]
            for group in client.xinfo_groups(key):
                total += int(group["pending"])
                delivered = group["last-delivered-id"]
                if delivered != last:
                    total += len(client.xrange(key, min=b"(" + delivered, count=cap) or [])
        return total
    except redis.RedisError:
        return None
    finally:
        client.close()


def holding(redis_url: str, prefix: str, consumer: str) -> int:
    """Entries `consumer` has read and not acknowledged, in every group under the prefix."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5, decode_responses=True)
    try:
        held = 0
        for key in client.scan_iter(match=f"{prefix}:*", _type="stream"):
            for group in client.xinfo_groups(key):
                for info in client.xinfo_consumers(key, group["name"]):
                    if info["name"] == consumer:
                        held += int(info["pending"])
        return held
    except redis.RedisError:
        return 0
    finally:
        client.close()


def stream_lengths(redis_url: str, prefix: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return {
            key: {"length": client.xlen(key), "groups": client.xinfo_groups(key)}
            for key in client.scan_iter(match=f"{prefix}:*", _type="stream")
        }
    finally:
        client.close()


@dataclass
class Run:
    workers: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    ended: str = ""


# (share of the expected posts stored, fault): Redis first, while the collector is still
# publishing; the door worker and PostgreSQL while the workers are busy.
FAULTS = (
    (0.03, "restart-redis"),
    (0.25, "kill-door"),
    (0.60, "restart-pg"),
)


def run_once(
    n: int,
    services: Services,
    pg_admin: str,
    redis_url: str,
    data: Path,
    expected: Expected,
    base_env: dict[str, str],
    logs: Path,
    timeout_s: float,
    quiet_s: float,
    faults: Sequence[tuple[float, str]] = FAULTS,
) -> tuple[Run, str, str]:
    import psycopg

    from stadspuls.store.database import open_store

    database = f"cluster_{n}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    db_url = pg_admin.rsplit("/", 1)[0] + f"/{database}"
    open_store(db_url).dispose()  # the schema, before any process starts
    prefix = f"bench{n}-{int(time.time())}"
    env = {
        **base_env,
        "STADSPULS_DB_URL": db_url,
        "STADSPULS_CLUSTER__BROKER_URL": redis_url,
        "STADSPULS_CLUSTER__STREAM_PREFIX": prefix,
    }
    logs.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(env, logs)
    run = Run(workers=n)
    target = len(expected.unique)
    try:
        cluster.start("writer", "writer")
        doors = [cluster.start("door", f"door-{i + 1}") for i in range(n)]
        started = time.monotonic()
        collector = cluster.start("collector", "collector", "--jetstream-file", str(data))
        pending = list(faults)
        last_count, last_change = -1, started
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            elapsed = round(now - started, 2)
            count = stored_now(db_url)
            if count is not None and count != last_count:
                last_count, last_change = count, now
            for proc in list(cluster.procs):
                rc = proc.popen.poll()
                if rc is None or (proc is collector and rc == 0):
                    continue
                if proc.killed:
                    continue
                again = cluster.restart(proc)
                run.restarts.append(
                    {
                        "workers": n,
                        "process": proc.name,
                        "exit": rc,
                        "at_s": elapsed,
                        "log_tail": _tail(proc.log),
                    }
                )
                if proc is collector:
                    collector = again
                elif proc in doors:
                    doors[doors.index(proc)] = again
            due = bool(pending) and count is not None and count >= pending[0][0] * target
            held = 0
            if due and pending[0][1] == "kill-door":
                # Killed while it holds entries it read and has not acknowledged: those must
                # be taken over by another worker (XAUTOCLAIM), not lost.
                held = holding(redis_url, prefix, doors[0].name)
                due = held > 0
            if due:
                _, fault = pending.pop(0)
                entry: dict[str, Any] = {
                    "workers": n,
                    "fault": fault,
                    "at_s": elapsed,
                    "stored_before": count,
                    "collector_running": collector.popen.poll() is None,
                    # Entries unread or unacknowledged in the streams: the run is busy.
                    "in_flight_before": undrained(redis_url, prefix),
                }
                t0 = time.monotonic()
                if fault == "kill-door":
                    victim = doors[0]
                    victim.popen.send_signal(signal.SIGKILL)
                    victim.popen.wait()
                    victim.killed = True
                    entry["what"] = (
                        f"SIGKILL door worker {victim.name} (pid {victim.popen.pid}) holding"
                        f" {held} unacknowledged entries"
                    )
                    doors[0] = cluster.start("door", f"door-{n + 1}")
                    entry["what"] += f", started door-{n + 1} (pid {doors[0].popen.pid})"
                else:
                    services.run(fault)
                    entry["what"] = f"scripts/test-services.sh {fault} (stop, start, same data)"
                entry["took_s"] = round(time.monotonic() - t0, 2)
                run.faults.append(entry)
            collector_done = collector.popen.poll() == 0
            # Quiet only after a first post was stored: start-up on a busy machine is slow.
            quiet = last_count > 0 and now - last_change > quiet_s
            if count is not None and (collector_done or quiet) and not undrained(redis_url, prefix):
                # The writer commits its last batch just after the last acknowledgement:
                # the end is when the count also stands still for a moment.
                time.sleep(2)
                if stored_now(db_url) == count:
                    run.seconds = round((last_change if quiet else now) - started, 2)
                    run.ended = (
                        "collector exited, streams drained"
                        if collector_done
                        else f"collector running; streams drained, nothing new for {quiet_s} s"
                    )
                    run.faults.extend(
                        {"workers": n, "fault": fault, "what": "not injected: the run ended first"}
                        for _, fault in pending
                    )
                    break
            if now - started > timeout_s:
                run.seconds = round(now - started, 2)
                left = undrained(redis_url, prefix)
                run.ended = f"timed out after {timeout_s} s ({left} entries not drained)"
                break
    finally:
        cluster.stop_all()
    return run, db_url, prefix


def parse_faults(text: str) -> list[tuple[float, str]]:
    """ "kill-door,restart-pg" or with the share of expected posts stored at which each comes:
    "restart-redis@0,kill-door@0.5"; in that order."""
    default = {name: at for at, name in FAULTS}
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, at = part.partition("@")
        if name not in default:
            sys.exit(f"unknown fault {name!r}: choose from {', '.join(default)}")
        out.append((float(at) if at else default[name], name))
    return out


def _stop(signum: int, _frame: object) -> None:
    # SIGTERM (a background job gets no SIGINT) ends the run through the `finally`s: the
    # processes and the servers are stopped, not left behind.
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a Jetstream recording (JSONL)")
    parser.add_argument("--workers", default="1,2", help="door worker counts, comma-separated")
    parser.add_argument(
        "--door",
        choices=["core", "full"],
        default="core",
        help="core: normalise, pseudonymise, language, dedup; full: also places, sentiment, crisis",
    )
    parser.add_argument("--dir", type=Path, help="private folder for servers and logs (kept)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run at most")
    parser.add_argument(
        "--quiet",
        type=float,
        default=60.0,
        help="a collector that does not exit counts as done after this many seconds without"
        " a new post and with every stream drained",
    )
    parser.add_argument(
        "--faults",
        default=",".join(name for _, name in FAULTS),
        help="which faults, comma-separated, each optionally @SHARE of the expected posts"
        " stored when it comes (default: restart-redis@0.03,kill-door@0.25,restart-pg@0.6)",
    )
    parser.add_argument("--batch", type=int, help="cluster.batch (entries per read)")
    parser.add_argument("--claim-idle", type=float, default=5.0, help="cluster.claim_idle_s")
    parser.add_argument(
        "--max-backlog",
        type=int,
        default=5_000,
        help="cluster.max_backlog: the collector waits while this many entries are in flight"
        " (default 5,000, so the collector is still publishing when the faults come)",
    )
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"no such file: {args.data}")
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    faults = parse_faults(args.faults)

    from stadspuls.enrich.door import build_pseudonymiser
    from stadspuls.settings import BlueskySettings, Settings

    root = args.dir or Path(tempfile.mkdtemp(prefix="stadspuls-cluster-"))
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    expected = expected_from_file(args.data)
    keys = root / "secrets"
    settings = Settings(
        key_file=keys / "pseudonym.key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )
    # The keys exist before the workers start: N processes would otherwise race to create them.
    pseudonymiser = build_pseudonymiser(settings)
    enrichers = "[]" if args.door == "core" else '["places", "sentiment", "crisis"]'
    base_env = {
        **os.environ,
        "STADSPULS_KEY_FILE": str(keys / "pseudonym.key"),
        "STADSPULS_ENRICHERS": enrichers,
        # Every post of the file, whatever its declared language: the count must not depend
        # on a filter.
        "STADSPULS_BLUESKY__LANGS": "[]",
        "STADSPULS_BLUESKY__KEEP_UNDECLARED": "true",
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_CLUSTER__CLAIM_IDLE_S": str(args.claim_idle),
        "STADSPULS_CLUSTER__MAX_BACKLOG": str(args.max_backlog),
        **({"STADSPULS_CLUSTER__BATCH": str(args.batch)} if args.batch else {}),
    }
    services = Services(root)
    services.run("start")
    result: dict[str, Any] = {
        "data": str(args.data),
        "lines": expected.lines,
        "door": args.door,
        "max_backlog": args.max_backlog,
        "claim_idle_s": args.claim_idle,
        "posts_per_s": {},
        "faults": [],
        "restarts": [],
        "runs": {},
        "loadavg_start": _loadavg(),
    }
    totals = {"stored": 0, "expected": 0, "missing": 0, "duplicates": 0, "deletes_not_honoured": 0}
    try:
        pg_admin, redis_url = services.urls()
        for n in workers:
            run, db_url, prefix = run_once(
                n,
                services,
                pg_admin,
                redis_url,
                args.data,
                expected,
                base_env,
                root / "logs" / f"workers-{n}",
                args.timeout,
                args.quiet,
                faults,
            )
            counts = count_store(db_url, expected, pseudonymiser.post_id)
            rate = round(counts["stored"] / run.seconds) if run.seconds else 0
            result["posts_per_s"][str(n)] = rate
            result["faults"].extend(run.faults)
            result["restarts"].extend(run.restarts)
            result["runs"][str(n)] = {
                **counts,
                "seconds": run.seconds,
                "ended": run.ended,
                "streams": _short_streams(redis_url, prefix),
                "loadavg": _loadavg(),
            }
            for key in totals:
                totals[key] += counts[key]
            print(f"N={n}: {json.dumps(result['runs'][str(n)])}", flush=True)
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            services.run("stop")
    result.update(totals)
    result["logs"] = str(root / "logs")
    print(
        json.dumps(
            {k: result[k] for k in ("stored", "duplicates", "posts_per_s", "faults")}
            | {
                k: v
                for k, v in result.items()
                if k not in ("stored", "duplicates", "posts_per_s", "faults")
            }
        )
    )


def _short_streams(redis_url: str, prefix: str) -> dict[str, Any]:
    try:
        streams = stream_lengths(redis_url, prefix)
    except Exception as error:  # a report line, never a reason to lose the counts
        return {"error": str(error)}
    return {
        key: {
            "length": v["length"],
            "groups": {
                g["name"]: {"pending": g["pending"], "lag": g.get("lag")} for g in v["groups"]
            },
        }
        for key, v in streams.items()
    }


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
