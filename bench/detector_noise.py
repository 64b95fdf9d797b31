"""False alarms of the detectors on streams with no anomaly, over many random seeds.

    .venv/bin/python bench/detector_noise.py [--seeds 50] [--detector burst --detector negative]

The conformance suite (tests/contract/test_detectors.py) checks one flat and one seasonal
stream with fixed seeds; this runs the same two kinds of stream for `--seeds` seeds each: a flat
3-day stream at 20 posts an hour and a 3-week stream with a strong nightly peak (2 posts an hour
by day, 40 around 23:00; its first day, before any rhythm is learnt, is not counted), a quarter
of the posts negative, for a monitor at sensitivity 1 and one at 1.25. It counts the streams in
which a detector signalled at all and the alerts those signals would open (the alert layer's
6-hour cooldown), per stream-day. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stadspuls.alerts.book import AlertBook
from stadspuls.detect.base import Rule
from stadspuls.detect.registry import build
from tests.contract.test_detectors import START
from tests.support.streams import flat, nightly_peak, synthetic_posts

RULES = {1: Rule(), 2: Rule(sensitivity=1.25)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--detector", action="append", default=None)
    args = parser.parse_args()
    names = args.detector or ["burst", "negative"]
    learnt = START + timedelta(hours=24)
    result: dict[str, dict[str, float]] = {}
    for kind, days in (("flat", 3), ("seasonal", 20)):
        for name in names:
            for monitor, rule in RULES.items():
                streams = alerts = 0
                for seed in range(100, 100 + args.seeds):
                    if kind == "flat":
                        posts = synthetic_posts(flat(20), START, 72, seed=seed, negative_share=0.25)
                    else:
                        posts = synthetic_posts(
                            nightly_peak(2, 40), START, 21 * 24, seed=seed, negative_share=0.25
                        )
                    detector, book = build(name), AlertBook()
                    raised = False
                    for post in posts:
                        for signal in detector.observe(post, {monitor: rule}):
                            if kind == "seasonal" and signal.at < learnt:
                                continue
                            raised = True
                            alerts += book.add(signal)[0] == "opened"
                    streams += raised
                key = f"{name}/{kind}/sensitivity {rule.sensitivity:g}"
                result[key] = {
                    "streams_with_signals": streams,
                    "streams": args.seeds,
                    "alerts_per_day": round(alerts / (args.seeds * days), 4),
                }
                print(f"{key:<36} {streams:>3} of {args.seeds} streams, {alerts} alerts")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
