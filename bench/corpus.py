"""Real texts from ../shared/data for benchmarks (never copied into the repository)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# (file, text column, declared language or None when the set mixes languages)
SETS = (
    ("sentiment_nl_tweets/train.csv", "text", "nl"),
    ("sentiment_nl_reviews/dev.csv", "text", "nl"),
    ("p2000/haaglanden_rotterdam_2019_2020.csv", "text", "nl"),
    ("p2000/nye_2017_2020_fire.csv", "text", "nl"),
    ("p2000/national_oct2015.csv", "text", "nl"),
    ("crisis_crisislext26/dev.csv", "text", None),
    ("crisis_crisislext6/ontopic.csv", "text", "en"),
    ("crisis_humaid/train.csv", "text", "en"),
    ("rumours_pheme/dev.csv", "text", "en"),
)


def require_shared_data() -> Path:
    if not SHARED_DATA.exists():
        sys.exit(f"this benchmark needs real data in {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


def real_texts() -> list[tuple[str, str | None]]:
    """(text, declared language) of every real post in the shared sets."""
    root = require_shared_data()
    csv.field_size_limit(10_000_000)
    out: list[tuple[str, str | None]] = []
    for name, column, lang in SETS:
        path = root / name
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            out.extend((row[column], lang) for row in csv.DictReader(handle) if row[column])
    return out
