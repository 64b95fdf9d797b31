"""Rollup consumer benchmark: how fast the consumer "rollup" counts stored posts incrementally,
on a realistic store (bench/dashboard.py's 2M posts and 100 monitors, copied), and whether its
cells equal a recount from scratch of the same posts.

Runs the consumer the way `stadspuls run` does (the driver, chunks of 2,000 posts, output and
cursor in one transaction) over the first N posts of a copy of var/bench-dashboard.db, then
rebuilds the same cells from scratch and compares. Compare its posts/s with the ingest rate
(`bench/ingest.py`): the consumer must keep up with the writer.

    python bench/dashboard.py            # once: builds var/bench-dashboard.db
    python bench/rollup.py [--posts 200000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from stadspuls.consumers import Driver
from stadspuls.rollups import RollupConsumer, rebuild
from stadspuls.store.database import open_store
from stadspuls.store.schema import consumers, monitor_buckets, monitor_facets

STORE = Path(__file__).resolve().parent.parent / "var" / "bench-dashboard.db"


def _cells(engine: sa.Engine) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    with engine.connect() as conn:
        buckets = {tuple(r) for r in conn.execute(sa.select(monitor_buckets))}
        facets = {tuple(r) for r in conn.execute(sa.select(monitor_facets))}
    return buckets, facets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=200_000)
    args = parser.parse_args()
    if not STORE.exists():
        sys.exit(f"no {STORE}: run `python bench/dashboard.py` first")
    with tempfile.TemporaryDirectory(dir=STORE.parent) as tmp:
        copy = Path(tmp) / "rollup.db"
        shutil.copyfile(STORE, copy)
        engine = open_store(f"sqlite:///{copy}")
        with engine.begin() as conn:
            # The linker "has linked" every post (the links are there); the rollup starts afresh.
            conn.execute(consumers.delete())
            conn.execute(consumers.insert().values(name="linker", last_pk=args.posts, updated_us=0))
        driver = Driver(engine, RollupConsumer(engine), start="beginning")
        driver.prepare()
        began = time.perf_counter()
        counted = 0
        while step := driver.step():
            counted += step
        seconds = time.perf_counter() - began
        incremental = _cells(engine)
        began = time.perf_counter()
        links = rebuild(engine)
        rebuild_s = time.perf_counter() - began
        equal = _cells(engine) == incremental
        engine.dispose()
    print(f"rollup consumer, incremental: {counted:,} posts ({links:,} links) in {seconds:.1f} s")
    print(f"  {counted / seconds:,.0f} posts/s; rebuild of the same cells {rebuild_s:.1f} s")
    print(f"  cells equal a recount from scratch: {equal}")
    print(
        json.dumps(
            {"posts": counted, "links": links, "consumer_posts_per_s": round(counted / seconds),
             "rebuild_s": round(rebuild_s, 1), "equal_to_rebuild": equal}
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
