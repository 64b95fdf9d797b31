"""The writer's speed with a small and a large SQLite page cache (`sqlite_cache_mib`).

Real texts (bench/match.py's posts, keyed and sealed as the door does), 200,000 written first,
then 100,000 timed, in batches of 2,000, into a fresh SQLite file per run; 8 and 64 MiB
alternate, twice each. The last line is one JSON object.

    python bench/writer_cache.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts
from match import make_posts
from stadspuls.enrich.pseudonymise import Pseudonymiser
from stadspuls.sealed import Sealer
from stadspuls.store.database import open_store
from stadspuls.store.writer import Batch, PostWriter

FILLED, TIMED, BATCH = 200_000, 100_000, 2000


def main() -> None:
    posts = Pseudonymiser(b"k" * 32, Sealer(b"s" * 32))(make_posts(real_texts(), FILLED + TIMED))
    rates: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run, mib in enumerate((8, 64, 8, 64)):
            engine = open_store(f"sqlite:///{tmp}/run{run}.db", cache_mib=mib)
            with PostWriter(engine) as writer:
                for offset in range(0, FILLED, BATCH):
                    writer.write(Batch(posts=posts[offset : offset + BATCH]))
                started = time.perf_counter()
                for offset in range(FILLED, FILLED + TIMED, BATCH):
                    writer.write(Batch(posts=posts[offset : offset + BATCH]))
                rate = TIMED / (time.perf_counter() - started)
            engine.dispose()
            rates.setdefault(mib, []).append(rate)
            load = Path("/proc/loadavg").read_text().split()[0]
            print(f"cache {mib:>2} MiB: {rate:,.0f} posts/s (load average {load})", flush=True)
    print(
        json.dumps(
            {f"cache_{mib}_mib_posts_per_s": [round(r) for r in v] for mib, v in rates.items()}
        )
    )


if __name__ == "__main__":
    main()
