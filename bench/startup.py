"""Start-up benchmark: `stadspuls --help` and the smallest `stadspuls ingest` (a 10-line CSV).

Each command runs `--runs` times in a fresh process (a fresh database for every ingest); prints
the median and the range of the wall times and the median CPU time (user + system, children
included: steadier than wall time on a shared machine), then one JSON object as its last line.
The ingest runs once with the core door (`enrichers = []`: no sentiment or crisis models) and
once with the full door. `python -X importtime -m stadspuls.cli --help` shows what a start-up
imports; `PYTHONPATH=OLD/src python bench/startup.py` measures another checkout's code.

    python bench/startup.py [--runs 5] [--skip-ingest]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# An import needs a purpose, a legal basis and a retention period.
IMPORT = ("--purpose", "benchmark", "--basis", "public-task", "--retention-days", "1")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    command: list[str], env: dict[str, str], before: list[str] | None = None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `command`."""
    if before:
        subprocess.run(before, check=True)
    cpu = _cpu()
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _cpu() - cpu


def write_csv(path: Path, lines: int = 10) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at", "author"])
        for n in range(lines):
            text = f"Brand in een loods aan de Industrieweg in Lochem, bericht {n}"
            writer.writerow([f"s{n}", text, f"2024-11-23T14:{n:02d}:00Z", f"bewoner{n}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "stadspuls.cli"]
    results: dict[str, dict[str, float]] = {}

    def report(name: str, runs: list[tuple[float, float]]) -> None:
        times = [wall for wall, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        results[name] = {"median_s": statistics.median(times), "min_s": min(times), "cpu_s": cpu}
        print(
            f"{name:<22} median {statistics.median(times):.3f} s"
            f"  (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs);"
            f" CPU {cpu:.3f} s"
        )

    env = dict(os.environ)
    report("stadspuls --help", [timed([*cli, "--help"], env) for _ in range(args.runs)])
    if not args.skip_ingest:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            small = folder / "small.csv"
            write_csv(small)
            db = folder / "bench.db"
            base = {
                **env,
                "STADSPULS_KEY_FILE": str(folder / "key"),
                "STADSPULS_DB_URL": f"sqlite:///{db}",
            }
            clean = ["rm", "-f", str(db), f"{db}-wal", f"{db}-shm"]
            command = [*cli, "ingest", "--quiet", str(small), *IMPORT]
            for door, enrichers in (("core", "[]"), ("full", None)):
                door_env = dict(base)
                if enrichers is not None:
                    door_env["STADSPULS_ENRICHERS"] = enrichers
                times = [timed(command, door_env, clean) for _ in range(args.runs)]
                report(f"ingest 10 lines, {door}", times)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
