"""Throughput of every built-in detector with 1,000 monitors, each alone and all together.

Real tweet texts (CrisisLexT26 dev, all 19 events, in time order) each match 3 of 1,000
monitors: one monitor per event's tweets and two drawn at random, as a keyword monitor and two
broad ones would. Every post names one of 40 Dutch places and carries a rumour score; one post in
fifty is a P1 pager message at one of those places; sentiment is drawn at the share of
negative posts in Dutch tweets. Each detector gets the same stream on one
core; the time is the process's CPU time in `observe` alone (posts are built beforehand), so
that other work on a shared machine does not count.

    .venv/bin/python bench/detectors.py [--data FILE] [--repeat 2]

Last line: one JSON object with posts/s per detector and `all_posts_per_s`, the rate of the
five together on one core.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from stadspuls.detect.base import Rule
from stadspuls.detect.registry import BUILTIN, build
from stadspuls.records import Place, Post

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "crisis_crisislext26" / "dev.csv"
MONITORS = 1000
PER_POST = 3
PAGER_EVERY = 50
PLACES = [
    Place(code=f"GM{1000 + i:04d}", name=f"Plaats{i}", municipality=f"Plaats{i}", lat=52.0, lon=5.0)
    for i in range(40)
]
SENTIMENTS = ("negative", "neutral", "positive")
INCIDENT = {"Wildfire": "fire", "Floods": "flood", "Explosion": "explosion", "Shooting": None}


def stream(path: Path, repeat: int) -> list[tuple[Post, dict[int, Rule]]]:
    rng = random.Random(1)
    with path.open(encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["created_at"])
    events = sorted({r["event"] for r in rows})
    rule = Rule()
    out: list[tuple[Post, dict[int, Rule]]] = []
    span = timedelta(0)
    for round_ in range(repeat):
        for n, row in enumerate(rows):
            at = datetime.fromisoformat(row["created_at"]) + span * round_
            place = rng.choice(PLACES)
            home = events.index(row["event"]) * (MONITORS // len(events))
            monitors = {home, *rng.sample(range(MONITORS), PER_POST - 1)}
            rules = dict.fromkeys(monitors, rule)
            i = round_ * len(rows) + n
            if i % PAGER_EVERY == 0:
                pager = Post(
                    id=f"p2000:{i:x}", source="p2000", native_id=str(i), created_at=at,
                    text=f"P 1 Brand woning Kerkstraat {place.name}", places=(place,),
                    meta={"priority": "P1", "service": "brandweer"},
                )  # fmt: skip
                out.append((pager, rules))
            post = Post(
                id=f"bluesky:{i:x}", source="bluesky", native_id=str(i), created_at=at,
                text=row["text"], author_key=f"a{rng.randrange(5000)}", places=(place,),
                incident_type=INCIDENT.get(row["event_type"], "none"),
                rumour_score=rng.random() * 0.6,
                sentiment=rng.choices(SENTIMENTS, weights=(3, 5, 2))[0],
            )  # fmt: skip
            out.append((post, rules))
        span = (
            datetime.fromisoformat(rows[-1]["created_at"])
            - datetime.fromisoformat(rows[0]["created_at"])
            + timedelta(days=1)
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeat", type=int, default=2, help="replay the file this many times")
    args = parser.parse_args()
    items = stream(args.data, args.repeat)
    result: dict[str, float | int] = {"posts": len(items), "monitors": MONITORS}
    total = 0.0
    for name in BUILTIN:
        detector = build(name)
        signals = 0
        start = time.process_time()
        for post, rules in items:
            signals += len(detector.observe(post, rules))
        seconds = time.process_time() - start
        total += seconds
        result[f"{name}_posts_per_s"] = round(len(items) / seconds)
        result[f"{name}_signals"] = signals
        print(f"{name}: {len(items) / seconds:,.0f} posts/s, {signals} signals", flush=True)
    result["all_posts_per_s"] = round(len(items) / total)
    print(f"all five: {len(items) / total:,.0f} posts/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
