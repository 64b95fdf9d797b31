"""The rumour detector on real breaking news: PHEME source tweets (English), replayed per event.

Each event's source tweets run in time order through a monitor of their own; every tweet counts
as a distinct author (PHEME gives no authors) and carries no model score, so only the cue words
(`detect/cues.py`) supply rumour evidence. Each alert (signals folded as the alert layer folds
them) is scored by the labels of the posts its story held when it opened: an alert is right when
most of them are rumour tweets. The base rate is the share of rumour tweets in those events.

The cue list was written with all of PHEME dev in view (no held-out PHEME here); the
detector's thresholds (authors per hour, mean evidence) were set by reasoning, not tuned on it.

    .venv/bin/python bench/rumours.py [--data ../shared/data/rumours_pheme/dev.csv]

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import datetime
from pathlib import Path

from stadspuls.alerts.book import AlertBook
from stadspuls.detect.base import Rule
from stadspuls.detect.rumour import RumourDetector
from stadspuls.records import Post

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rumours_pheme" / "dev.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    with args.data.open(encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["created_at"])
    events = sorted({r["event"] for r in rows})
    label: dict[str, str] = {}
    detector = RumourDetector()
    book = AlertBook()
    opened: list[tuple[str, tuple[str, ...]]] = []
    for n, row in enumerate(rows):
        post = Post(
            id=f"pheme:{n}", source="pheme", native_id=str(n), text=row["text"],
            created_at=datetime.fromisoformat(row["created_at"]), author_key=f"a{n}",
        )  # fmt: skip
        label[post.id] = row["label"]
        monitor = {events.index(row["event"]): Rule()}
        for signal in detector.observe(post, monitor):
            kind, _ = book.add(signal)
            if kind == "opened":
                story = detector.clusterer.state.monitors[signal.monitor_id].stories[signal.key]
                opened.append((row["event"], tuple(story.post_ids)))
    right = 0
    for event, ids in opened:
        share = sum(label[i] == "rumour" for i in ids) / len(ids)
        right += share > 0.5
        print(f"{event}: alert on a story of {len(ids)} tweets, {share:.0%} rumour")
    base = sum(r["label"] == "rumour" for r in rows) / len(rows)
    result = {
        "tweets": len(rows),
        "alerts": len(opened),
        "alerts_on_rumour_stories": right,
        "precision": round(right / len(opened), 3) if opened else None,
        "rumour_base_rate": round(base, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
