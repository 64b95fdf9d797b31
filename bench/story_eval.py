"""The new-story detector on real crises: CrisisLexT26 dev, one keyword monitor per event.

Every tweet of the file is replayed in time order; a tweet goes to each event monitor whose
collection keywords (`events.json`) it contains (folded, '#' dropped), so other events are
background. Signals are folded into alerts as the alert layer folds them. Per event:

- surge onset: the start of the first hour whose volume reaches 10 % of the event's peak hourly
  volume and at least 3 tweets (the definition `stadspuls eval bursts` uses);
- detected: an alert in the event's monitor whose story (when it opened) holds mostly tweets of
  the event, opened at most 24 h before the onset; delay = its time minus the onset;
- false alerts: the other alerts of the event's monitor that are not updates: a story mostly of
  other events' tweets, or raised more than 24 h before the onset.

The join threshold of the clustering was chosen on the even-numbered events (bench/stories.py);
figures are given for all events and for the odd-numbered (held-out) ones. The author threshold
(5 in 2 h) and the windows were set by reasoning, not tuned on this file.

    .venv/bin/python bench/story_eval.py [--data ../shared/data/crisis_crisislext26/dev.csv]

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from stadspuls.alerts.book import AlertBook
from stadspuls.detect.base import Rule
from stadspuls.detect.story import StoryDetector
from stadspuls.query.text import fold, tokens
from stadspuls.records import Post

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "crisis_crisislext26" / "dev.csv"


def phrase(text: str) -> str:
    return " " + " ".join(tokens(fold(text))) + " "


def onset(times: list[datetime]) -> datetime | None:
    hours = Counter(t.replace(minute=0, second=0, microsecond=0) for t in times)
    if not hours:
        return None
    peak = max(hours.values())
    for hour in sorted(hours):
        if hours[hour] >= max(3, 0.1 * peak):
            return hour
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    with (args.data.parent / "events.json").open(encoding="utf-8") as handle:
        info = json.load(handle)
    with args.data.open(encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["created_at"])
    events = sorted({r["event"] for r in rows} & set(info))
    keywords = {e: [phrase(k.lstrip("#")) for k in info[e]["keywords"]] for e in events}
    detector = StoryDetector()
    book = AlertBook()
    event_of: dict[str, str] = {}
    times: dict[str, list[datetime]] = {e: [] for e in events}
    opened: list[tuple[int, datetime, tuple[str, ...]]] = []
    for n, row in enumerate(rows):
        at = datetime.fromisoformat(row["created_at"])
        post = Post(
            id=f"x:{n}", source="x", native_id=str(n), created_at=at, text=row["text"],
            author_key=f"a{n}",
        )  # fmt: skip
        event_of[post.id] = row["event"]
        if row["event"] in times:
            times[row["event"]].append(at)
        text = phrase(row["text"])
        rules = {i: Rule() for i, e in enumerate(events) if any(k in text for k in keywords[e])}
        for signal in detector.observe(post, rules):
            kind, _ = book.add(signal)
            if kind == "opened":
                story = detector.clusterer.state.monitors[signal.monitor_id].stories[signal.key]
                opened.append((signal.monitor_id, signal.at, tuple(story.post_ids)))
    span_days = (
        datetime.fromisoformat(rows[-1]["created_at"])
        - datetime.fromisoformat(rows[0]["created_at"])
    ).total_seconds() / 86400

    def score(selected: list[str]) -> dict[str, object]:
        delays: list[float] = []
        false = 0
        for i, event in enumerate(events):
            if event not in selected:
                continue
            start = onset(times[event])
            hit = False
            for monitor_id, at, ids in opened:
                if monitor_id != i:
                    continue
                own = sum(event_of[p] == event for p in ids) / len(ids)
                early = start is not None and at < start - timedelta(hours=24)
                if own > 0.5 and not early and not hit and start is not None:
                    delays.append((at - start).total_seconds() / 3600)
                    hit = True
                elif own <= 0.5 or early:
                    false += 1
        return {
            "events": len(selected),
            "detected": len(delays),
            "median_delay_h": round(statistics.median(delays), 2) if delays else None,
            "false_alerts": false,
            "false_alerts_per_day": round(false / span_days, 3),
        }

    held_out = [e for k, e in enumerate(events) if k % 2 == 1]
    for event in events:
        print(event, score([event]))
    print(json.dumps({"all": score(events), "held_out": score(held_out)}))


if __name__ == "__main__":
    main()
