"""Throughput of the burst and turn-to-negative detectors with 1,000 monitors.

    .venv/bin/python bench/detectors.py [--posts 100000] [--monitors 1000] [--per-post 1 3]

Posts as the door leaves them (keyed author, sentiment, sometimes a place), one a second of
event time (a day of a busy stream), each matched to `--per-post` monitors drawn at random from
`--monitors` (most posts of a real stream match no monitor at all, so this is the costly case);
every tenth monitor gets bursts. Measures `observe` alone (matching and the door are measured by
bench/match.py and bench/enrich.py), on one core. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta

from stadspuls.detect.base import Rule
from stadspuls.detect.registry import build
from stadspuls.records import Place, Post

WORDS = [
    "brand",
    "rook",
    "politie",
    "ambulance",
    "stratumseind",
    "kroeg",
    "vechtpartij",
    "markt",
    "station",
    "trein",
    "vertraging",
    "regen",
    "storm",
    "boom",
    "weg",
    "afgesloten",
    "ongeluk",
    "feest",
    "muziek",
    "drukte",
    "centrum",
]
PLACES = (
    Place(code="GM0772", name="Eindhoven", municipality="Eindhoven", lat=51.44, lon=5.48),
    Place(code="GM0363", name="Amsterdam", municipality="Amsterdam", lat=52.37, lon=4.9),
)


def posts(n: int, rng: random.Random) -> list[Post]:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    out = []
    for i in range(n):
        out.append(
            Post(
                id=f"bench:{i}",
                source="test",
                native_id=str(i),
                created_at=start + timedelta(seconds=i),
                text=" ".join(rng.sample(WORDS, 8)),
                author_key=f"author{rng.randrange(5000)}",
                sentiment=rng.choice(("negative", "neutral", "positive")),
                places=(rng.choice(PLACES),) if rng.random() < 0.2 else (),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--per-post", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    rng = random.Random(1)
    stream = posts(args.posts, rng)
    results: dict[str, float] = {}
    for per_post in args.per_post:
        matches = []
        for i, _ in enumerate(stream):
            chosen = rng.sample(range(args.monitors), per_post)
            if i % 3600 < 60:  # a burst a day-hour for every tenth monitor
                chosen[0] = rng.randrange(0, args.monitors, 10)
            matches.append({m: Rule() for m in chosen})
        for name in ("burst", "negative"):
            detector = build(name)
            signals = 0
            started = time.perf_counter()
            for post, rules in zip(stream, matches, strict=True):
                signals += len(detector.observe(post, rules))
            seconds = time.perf_counter() - started
            rate = len(stream) / seconds
            state = len(detector.snapshot())
            results[f"{name}_x{per_post}"] = round(rate)
            print(
                f"{name:<9} {per_post} monitor(s)/post: {rate:>9,.0f} posts/s, {signals} signals,"
                f" state {state / 1e6:.1f} MB"
            )
        both = 1 / (1 / results[f"burst_x{per_post}"] + 1 / results[f"negative_x{per_post}"])
        results[f"both_x{per_post}"] = round(both)
        print(f"both      {per_post} monitor(s)/post: {both:>9,.0f} posts/s")
    print(json.dumps({"monitors": args.monitors, "posts": args.posts, **results}))


if __name__ == "__main__":
    main()
