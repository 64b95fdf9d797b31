"""Near-duplicate detection with its memory full: CPU time per post of `Deduplicator`.

Fills the window with the first `--window` real texts (../shared/data, normalised as the door
does), then times the next `--measure` posts in batches of `--batch`. The first posts of a run
meet an empty memory and cost far less than the steady state this measures.

    python bench/dedup.py [--window 100000] [--measure 26000] [--batch 2000] [--door-gc]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts
from stadspuls.enrich.dedup import Deduplicator
from stadspuls.enrich.normalize import normalise_text
from stadspuls.enrich.worker import DOOR_GC_THRESHOLDS
from stadspuls.records import Post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--measure", type=int, default=26_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument(
        "--door-gc",
        action="store_true",
        help="collect garbage as the door's process does (DOOR_GC_THRESHOLDS, gc.freeze)",
    )
    args = parser.parse_args()
    texts = real_texts()
    if args.window + args.measure > len(texts):
        sys.exit(f"only {len(texts)} real texts: window + measure must not exceed that")
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def posts(first: int, end: int) -> list[Post]:
        return [
            Post(
                id=f"bench:{i}",
                source="bench",
                native_id=str(i),
                created_at=start,
                text=normalise_text(texts[i][0][:3000]),
            )
            for i in range(first, end)
        ]

    dedup = Deduplicator(window=args.window)
    fill = posts(0, args.window)
    for offset in range(0, len(fill), args.batch):
        dedup(fill[offset : offset + args.batch])
    measured = posts(args.window, args.window + args.measure)
    if args.door_gc:
        gc.freeze()
        gc.set_threshold(*DOOR_GC_THRESHOLDS)
    cpu = time.process_time()
    for offset in range(0, len(measured), args.batch):
        dedup(measured[offset : offset + args.batch])
    seconds = time.process_time() - cpu
    result = {
        "window": args.window,
        "posts": args.measure,
        "cpu_us_per_post": round(seconds / args.measure * 1e6, 1),
        "gc_thresholds": gc.get_threshold(),
        "loadavg": Path("/proc/loadavg").read_text().split()[0],
    }
    print(f"dedup with {args.window:,} posts in memory: {result['cpu_us_per_post']} µs CPU a post")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
