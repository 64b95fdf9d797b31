"""Embed the shared labelled data sets once (e5, see stadspuls.enrich.embeddings) into the cache.

The training scripts embed what they need on their own; this fills the cache ahead of them,
smallest and most used sets first, so several training runs can share one pass (~33 ms a text).

    python scripts/embed_data.py [--data ../shared/data] [--only rumours_pheme/dev.csv ...]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from stadspuls.enrich.embeddings import EmbeddingCache

REPO = Path(__file__).resolve().parents[1]
SETS = (
    "rumours_pheme/dev.csv",
    "sentiment_nl_tweets/train.csv",
    "crisis_crisislext26/dev.csv",
    "sentiment_nl_reviews/dev.csv",
    "crisis_humaid/dev.csv",
    "emotion_nl_tweets/all.csv",
    "crisis_humaid/train.csv",
    "crisis_crisislext6/ontopic.csv",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    cache = EmbeddingCache.default(REPO)
    for name in args.only or SETS:
        with (args.data / name).open(newline="", encoding="utf-8") as f:
            texts = [row["text"] for row in csv.DictReader(f)]
        started = time.perf_counter()
        cache.embed(texts)
        seconds = time.perf_counter() - started
        print(f"{name}: {len(texts)} texts, {seconds:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
