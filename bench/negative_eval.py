"""How well the turn-to-negative detector hears a real turn, and ignores one angry account.

    .venv/bin/python bench/negative_eval.py [--days 7] [--seed 1] [--noise 0.0]

The replay is built from real Dutch tweets with known sentiment
(../shared/data/sentiment_nl_tweets/train.csv, 899 tweets, 30 % negative):

- a baseline of `--days` days at the data's own label mix (texts drawn with replacement), about
  20 posts an hour with a daily rhythm (5 an hour at night, 35 in the evening) from 400 authors;
- injected episodes (one a day from day 2 at a different hour, 90 minutes each): the volume
  rises by half and three quarters of the posts are drawn from the negative tweets, posted by
  many distinct authors;
- decoy episodes (one a day, 60 minutes, at another hour): one author posts 40 negative tweets
  while the baseline goes on.

Every post goes through the door (`detect/replay.py`): its sentiment is the door's model's
(`enrich/sentiment.py`), never the label; the labels only choose which texts an episode draws.
The monitor is the empty query (every post), the detector the registered "negative" with its
defaults, which were set on synthetic streams (tests/contract), not on this data.

An episode is detected when an alert of the monitor as a whole (key "") opens between its start
and 30 minutes after its end; its delay runs from its start. An alert opened in a decoy's hour
is a decoy alert; any other alert is a false alert.

Caveat, measured: the shipped sentiment model was trained on these very tweets (see its model
card), so it labels them better than it labels new posts (0.87 macro-F1 here, about 0.6 on
held-out tweets). `--noise Q` replaces the model's label by another label at random with
probability Q after the door, to show the detector with a model of held-out quality (Q = 0.35
brings the labels' agreement with the model's to about held-out accuracy). The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import require_shared_data

from stadspuls.detect.replay import Replay
from stadspuls.records import Post

START = datetime(2026, 3, 2, tzinfo=UTC)
LABELS = ("negative", "neutral", "positive")


def hourly_rate(at: datetime) -> float:
    # quiet at night, busy in the evening: 5 posts an hour at 04:00, 35 at 20:00 (UTC)
    return 5 + 30 * max(0.0, 1 - abs(at.hour - 20) / 12)


def build(
    rows: list[tuple[str, str]], days: int, rng: random.Random
) -> tuple[list[Post], list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    negative = [text for text, label in rows if label == "negative"]
    texts = [text for text, _ in rows]
    episodes = [
        (START + timedelta(days=d, hours=9 + 2 * d), timedelta(minutes=90)) for d in range(1, days)
    ]
    decoys = [
        (START + timedelta(days=d, hours=8 + 2 * d + 5), timedelta(minutes=60))
        for d in range(1, days)
    ]
    posts: list[Post] = []

    def add(at: datetime, text: str, author: str) -> None:
        n = len(posts)
        posts.append(
            Post(
                id=f"bench:{n}",
                source="test",
                native_id=str(n),
                created_at=at,
                text=text,
                author=author,
            )
        )

    for minute in range(days * 24 * 60):
        at = START + timedelta(minutes=minute)
        rate = hourly_rate(at) / 60
        in_episode = any(s <= at < s + d for s, d in episodes)
        if in_episode:
            rate *= 1.5
        for _ in range(_poisson(rng, rate)):
            when = at + timedelta(seconds=rng.randrange(60))
            if in_episode and rng.random() < 0.75:
                add(when, rng.choice(negative), f"user{rng.randrange(400)}")
            else:
                add(when, rng.choice(texts), f"user{rng.randrange(400)}")
    for start, length in decoys:
        for i in range(40):
            add(start + length * i / 40, rng.choice(negative), "angry-account")
    posts.sort(key=lambda p: (p.created_at, p.id))
    return (
        posts,
        [(s, s + d) for s, d in episodes],
        [(s, s + d) for s, d in decoys],
    )


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.0)
    args = parser.parse_args()
    data = require_shared_data() / "sentiment_nl_tweets" / "train.csv"
    with data.open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    rng = random.Random(args.seed)
    posts, episodes, decoys = build(rows, args.days, rng)
    truth = dict(rows)  # the data's label of each text, for the model's agreement
    agree = total = 0
    with Replay({1: ""}, detectors=("negative",)) as replay:
        for offset in range(0, len(posts), 1000):
            batch = replay.door(posts[offset : offset + 1000])
            if args.noise:
                batch = [
                    msgspec.structs.replace(
                        p, sentiment=rng.choice([x for x in LABELS if x != p.sentiment])
                    )
                    if p.sentiment is not None and rng.random() < args.noise
                    else p
                    for p in batch
                ]
            for post in batch:
                if post.sentiment is not None and post.text in truth:
                    total += 1
                    agree += post.sentiment == truth[post.text]
            replay.feed(batch, enriched=True)
        alerts = [a for a in replay.alerts if a.key == ""]
        place_alerts = len(replay.alerts) - len(alerts)
    delays: list[float] = []
    used: set[int] = set()
    for start, end in episodes:
        hit = [
            (i, a)
            for i, a in enumerate(alerts)
            if start <= a.opened_at <= end + timedelta(minutes=30)
        ]
        if hit:
            used.update(i for i, _ in hit)
            delays.append((hit[0][1].opened_at - start).total_seconds() / 60)
    decoy_alerts = [
        i
        for i, a in enumerate(alerts)
        if i not in used and any(s <= a.opened_at <= e for s, e in decoys)
    ]
    false = len(alerts) - len(used) - len(decoy_alerts)
    for start, end in episodes:
        print(f"episode {start:%a %H:%M}-{end:%H:%M}", end=" ")
        hits = [a for a in alerts if start <= a.opened_at <= end + timedelta(minutes=30)]
        print(f"alert at {hits[0].opened_at:%H:%M} ({hits[0].summary})" if hits else "missed")
    result = {
        "posts": len(posts),
        "days": args.days,
        "noise": args.noise,
        "model_agreement": round(agree / max(total, 1), 3),
        "episodes": len(episodes),
        "detected": len(delays),
        "median_delay_min": round(statistics.median(delays), 1) if delays else None,
        "decoys": len(decoys),
        "decoy_alerts": len(decoy_alerts),
        "false_alerts_per_day": round(false / args.days, 2),
        "place_alerts": place_alerts,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
