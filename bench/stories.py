"""How well the story clustering keeps events apart, on real tweets (CrisisLexT26 dev).

Each event's tweets are shifted in time so that all events start at the same moment and
interleave in one monitor's stream (a hard case: 19 crises at once). The clusters are scored
with B-cubed precision and recall against the event labels (a story is narrower than an event,
so recall is a floor and F1 would always prefer the loosest threshold). The join threshold is
the lowest with B-cubed precision >= MIN_PRECISION on the even-numbered events (stories must not
mix events); it is reported on the odd-numbered ones, which took no part in the choice.

    .venv/bin/python bench/stories.py [--data ../shared/data/crisis_crisislext26/dev.csv]

Last line: one JSON object with the chosen threshold and the held-out scores.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from stadspuls.detect import clustering
from stadspuls.detect.clustering import StoryClusterer
from stadspuls.detect.content_terms import post_terms
from stadspuls.records import Post

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "crisis_crisislext26" / "dev.csv"
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
MIN_PRECISION = 0.95


def load(path: Path) -> list[tuple[str, datetime, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["informativeness"] != "Not related"]
    first: dict[str, datetime] = {}
    for row in rows:
        at = datetime.fromisoformat(row["created_at"])
        first[row["event"]] = min(first.get(row["event"], at), at)
    start = min(first.values())
    out = [
        (r["event"], datetime.fromisoformat(r["created_at"]) - first[r["event"]] + start, r["text"])
        for r in rows
    ]
    return sorted(out, key=lambda item: item[1])


def bcubed(rows: list[tuple[str, datetime, str]], threshold: float) -> tuple[float, float]:
    clustering.THRESHOLD = threshold
    clusterer = StoryClusterer(timedelta(hours=2), track_changes=False)
    story_of: list[str] = []
    for n, (_, at, text) in enumerate(rows):
        post = Post(id=f"x:{n}", source="x", native_id=str(n), created_at=at, text=text)
        story_of.append(clusterer.add(1, post, post_terms(text)).key)
    members: dict[str, Counter[str]] = defaultdict(Counter)
    for (event, _, _), key in zip(rows, story_of, strict=True):
        members[key][event] += 1
    sizes = Counter(event for event, _, _ in rows)
    precision = recall = 0.0
    for (event, _, _), key in zip(rows, story_of, strict=True):
        same = members[key][event]
        precision += same / sum(members[key].values())
        recall += same / sizes[event]
    return precision / len(rows), recall / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    rows = load(args.data)
    events = sorted({event for event, _, _ in rows})
    tune = [r for r in rows if events.index(r[0]) % 2 == 0]
    held = [r for r in rows if events.index(r[0]) % 2 == 1]
    best = best_p = None
    for threshold in THRESHOLDS:
        p, r = bcubed(tune, threshold)
        print(f"tune threshold={threshold:.2f} precision={p:.3f} recall={r:.3f}")
        if best is None and p >= MIN_PRECISION:
            best, best_p = threshold, p
    if best is None or best_p is None:
        raise SystemExit(f"no threshold reaches precision {MIN_PRECISION} on the tuning events")
    p, r = bcubed(held, best)
    result = {
        "threshold": best,
        "tune_precision": round(best_p, 3),
        "heldout_events": len(events) // 2,
        "heldout_posts": len(held),
        "heldout_precision": round(p, 3),
        "heldout_recall": round(r, 3),
        "heldout_f1": round(2 * p * r / (p + r), 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
