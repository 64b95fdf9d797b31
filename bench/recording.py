"""A big Jetstream recording in the exact wire format, for bench/cluster.py.

The repository's recordings (tests/fixtures/sources/jetstream_*.jsonl, 16 events) are real but
too small for a run that lasts long enough to inject faults. This writes a bigger one: the two
recordings first, verbatim, then N events shaped exactly like them (bench/ingest.py's event
layout) around real texts from ../shared/data (bench/corpus.py), with what a real firehose
carries besides new posts:

- deletions of earlier posts (`--delete-rate`, by default 3 % of the posts), most within a few
  hundred events of their post, so that with several door workers a deletion can overtake its post;
- the same frame twice (`--repeat-rate`, 1 %): Jetstream re-sends after a reconnect with a
  rewound cursor;
- events that are not posts (likes, follows, reposts, profile updates, identity and account
  events: `--other-rate`, 5 %), copied from the recordings with fresh ids;
- a deletion of a post that is not in the file (0.1 %), as when the cursor starts after it.

The same seed gives the same file. Prints one JSON line describing it.

    python bench/recording.py OUT.jsonl [--events 150000] [--seed 13]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts

REPO = Path(__file__).resolve().parents[1]
RECORDINGS = (
    REPO / "tests/fixtures/sources/jetstream_events.jsonl",
    REPO / "tests/fixtures/sources/jetstream_other_events.jsonl",
)
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
POST = "app.bsky.feed.post"


def _tid(rng: random.Random) -> str:
    return "3l" + "".join(rng.choices(ALPHABET, k=11))


def write_recording(
    out: Path,
    events: int,
    *,
    seed: int = 13,
    delete_rate: float = 0.03,
    repeat_rate: float = 0.01,
    other_rate: float = 0.05,
) -> dict[str, object]:
    rng = random.Random(seed)
    texts = real_texts()
    dids = ["did:plc:" + "".join(rng.choices(ALPHABET, k=24)) for _ in range(20_000)]
    originals = [line for path in RECORDINGS for line in path.read_bytes().splitlines() if line]
    others = [
        json.loads(line)
        for line in originals
        if json.loads(line).get("kind") != "commit"
        or json.loads(line)["commit"]["collection"] != POST
    ]
    encode = msgspec.json.Encoder().encode
    start = datetime(2026, 11, 20, tzinfo=UTC)
    counts = {"posts": 0, "deletes": 0, "repeats": 0, "others": 0, "orphan_deletes": 0}
    recent: list[tuple[str, str]] = []  # (did, rkey) of posts not yet deleted
    with out.open("wb") as handle:
        for line in originals:
            handle.write(line + b"\n")
        last = b""
        for i in range(events):
            created = start + timedelta(milliseconds=20 * i)
            time_us = int(created.timestamp() * 1_000_000) + i % 1000
            roll = rng.random()
            if roll < repeat_rate and last:
                frame = last
                counts["repeats"] += 1
            elif roll < repeat_rate + other_rate:
                event = json.loads(json.dumps(rng.choice(others)))
                event["did"] = rng.choice(dids)
                event["time_us"] = time_us
                if event.get("commit"):
                    event["commit"]["rkey"] = _tid(rng)
                    event["commit"]["rev"] = _tid(rng)
                frame = encode(event)
                counts["others"] += 1
            elif roll < repeat_rate + other_rate + delete_rate and recent:
                # Mostly a recent post (a quick regret), sometimes an older one.
                back = min(len(recent), 1 + int(rng.expovariate(1 / 200)))
                did, rkey = recent.pop(len(recent) - back)
                frame = _delete(encode, did, rkey, time_us, rng)
                counts["deletes"] += 1
            elif roll < repeat_rate + other_rate + delete_rate + 0.001:
                frame = _delete(encode, rng.choice(dids), _tid(rng), time_us, rng)
                counts["orphan_deletes"] += 1
            else:
                text, lang = texts[counts["posts"] % len(texts)]
                did, rkey = rng.choice(dids), _tid(rng)
                record: dict[str, object] = {
                    "$type": POST,
                    "createdAt": created.isoformat().replace("+00:00", "Z"),
                    "text": text[:3000],
                }
                if lang:
                    record["langs"] = [lang]
                frame = encode(
                    {
                        "did": did,
                        "time_us": time_us,
                        "kind": "commit",
                        "commit": {
                            "rev": _tid(rng),
                            "operation": "create",
                            "collection": POST,
                            "rkey": rkey,
                            "record": record,
                            "cid": "bafyrei" + "".join(rng.choices(ALPHABET, k=52)),
                        },
                    }
                )
                recent.append((did, rkey))
                counts["posts"] += 1
            handle.write(frame + b"\n")
            last = frame
    return {
        "file": str(out),
        "lines": len(originals) + events,
        "recordings_verbatim": [str(p.relative_to(REPO)) for p in RECORDINGS],
        "seed": seed,
        **counts,
    }


def _delete(encode: object, did: str, rkey: str, time_us: int, rng: random.Random) -> bytes:
    event = {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {"rev": _tid(rng), "operation": "delete", "collection": POST, "rkey": rkey},
    }
    return encode(event)  # type: ignore[operator, no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(json.dumps(write_recording(args.out, args.events, seed=args.seed)))


if __name__ == "__main__":
    main()
