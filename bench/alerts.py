"""From a post's arrival to its alert on the live stream, with 1,000 monitors and every detector.

The product's own path in one process, as `stadspuls run` builds it: a source hands posts to the
door (a child process), the writer stores them, the linker and the five detector consumers
follow from their cursors, alerts go through the store to `GET /api/alerts/stream` served by
uvicorn; a client of that stream records when each alert event arrives.

The source replays real texts (../shared/data) at `--rate` posts/s on the wall clock; each post's
`created_at` is the moment it is handed over (its arrival), so an alert event's latency is its
arrival at the client minus the `updated_at` of the alert it carries (the time of the post that
triggered it). Every second a new story breaks: a dozen posts from distinct authors about one
monitor's word within a second. 1,000 monitors come from the real vocabulary (bench/match.py).
The burst detector needs 30 minutes of event time before it may raise anything: in this short
run it works (its cost counts) but the timed alerts come from the others.

    python bench/alerts.py [--rate 5000] [--seconds 30] [--monitors 1000]

`posts_per_s` is what the detectors sustained: posts stored divided by the time from the first
post to the moment the last detector consumer had caught up. Last line: one JSON object
`{"p50_s", "p99_s", "posts_per_s", ...}`; `warm_p50_s`, `warm_p99_s`: the alerts of posts that
arrived after the first 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_texts
from match import make_monitors, vocabulary
from stadspuls import monitors
from stadspuls.pipeline import assemble
from stadspuls.records import Monitor, Post, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import SourceStats
from stadspuls.store import consumers as cursors
from stadspuls.store.database import open_store
from stadspuls.web.app import create_app
from stadspuls.web.routes.alerts import stop_streams
from stadspuls.web.server import uvicorn_config


class PacedSource:
    """Real texts at `rate` posts/s on the wall clock, with a story breaking every second."""

    name = "bench"

    def __init__(
        self, texts: list[str], words: list[str], rate: float, seconds: float, seed: int = 1
    ) -> None:
        self.texts, self.words = texts, words
        self.rate, self.seconds = rate, seconds
        self.rng = random.Random(seed)
        self.stats = SourceStats()
        self.sent = 0

    def _post(self, text: str, author: str, at: datetime) -> Post:
        self.sent += 1
        n = self.sent
        return Post(
            id=f"bluesky:at://bench/{n}", source="bluesky", native_id=f"at://bench/{n}",
            created_at=at, text=text, author=author, lang_declared="nl",
        )  # fmt: skip

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        rng = self.rng
        began = time.time()
        due = 0.0
        story_at = 1.0
        while (elapsed := time.time() - began) < self.seconds:
            now = datetime.fromtimestamp(time.time(), UTC)
            target = elapsed * self.rate
            while due < target:
                text = rng.choice(self.texts)
                yield self._post(text, f"user{rng.randrange(50_000)}.bsky.social", now)
                due += 1
            if elapsed >= story_at:
                word = rng.choice(self.words)
                place = rng.choice(("Lochem", "Eindhoven", "Groningen", "Deventer"))
                for k in range(12):
                    text = f"{word}: grote brand bij de loods in {place}, veel rook ({k})"
                    yield self._post(text, f"witness{rng.randrange(10**9)}.bsky.social", now)
                story_at += 1.0
            await asyncio.sleep(0.005)


WARM_S = 10.0


def _quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return round(statistics.quantiles(values, n=100)[q - 1], 3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _listen(port: int, latencies: list[tuple[float, float]], ready: asyncio.Event) -> None:
    url = f"http://127.0.0.1:{port}/api/alerts/stream"
    async with httpx.AsyncClient(timeout=None) as client, client.stream("GET", url) as response:
        ready.set()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                arrived = time.time()
                alert = json.loads(line[5:])["alert"]
                at = datetime.fromisoformat(alert["updated_at"]).timestamp()
                latencies.append((at, arrived - at))


async def bench(args: argparse.Namespace, root: Path) -> dict[str, float | int]:
    texts = [text for text, _ in real_texts()]
    words, pairs, tags = vocabulary([(t, None) for t in texts])
    settings = Settings(
        db_url=f"sqlite:///{root / 'bench.db'}",
        key_file=root / "secrets" / "pseudonym.key",
        port=_free_port(),
    )
    engine = open_store(settings.db_url)
    for i, query in enumerate(make_monitors(words, pairs, tags, args.monitors)):
        monitor = Monitor(
            name=f"m{i}", query=query, owner="bench", purpose="benchmark",
            legal_basis="public-task", retention_days=30,
        )  # fmt: skip
        monitors.create(engine, monitor)
    assembly = await asyncio.to_thread(assemble, settings, engine)
    await asyncio.to_thread(assembly.start)
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(
        uvicorn_config(app, host="127.0.0.1", port=settings.port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    timed: list[tuple[float, float]] = []  # (the post's arrival, latency of its alert event)
    ready = asyncio.Event()
    listening = asyncio.create_task(_listen(settings.port, timed, ready))
    await ready.wait()
    source = PacedSource(texts, words, args.rate, args.seconds)
    began = time.monotonic()
    started_at = time.time()
    await assembly.pipeline.run([source])
    fed = time.monotonic() - began
    await asyncio.to_thread(assembly.consumers.drain)
    caught_up = time.monotonic() - began
    await asyncio.sleep(1.0)  # the stream polls every 0.2 s: let the last events arrive
    stored = assembly.pipeline.stats.inserted
    lag = {s.name: s.lag for s in cursors.consumer_statuses(engine)}
    stop_streams(app)
    server.should_exit = True
    listening.cancel()
    await asyncio.gather(serving, listening, return_exceptions=True)
    await asyncio.to_thread(assembly.close)
    engine.dispose()
    latencies = sorted(latency for _, latency in timed)
    # After the first 10 s: the pipeline warmed up (first chunks, first checkpoints, the door).
    warm = sorted(latency for at, latency in timed if at >= started_at + WARM_S)
    return {
        "p50_s": _quantile(latencies, 50),
        "p99_s": _quantile(latencies, 99),
        "warm_p50_s": _quantile(warm, 50),
        "warm_p99_s": _quantile(warm, 99),
        "posts_per_s": round(stored / caught_up),
        "offered_posts_per_s": args.rate,
        "fed_posts_per_s": round(source.sent / fed),
        "stored": stored,
        "alert_events": len(latencies),
        "monitors": args.monitors,
        "max_lag_at_end": max(lag.values(), default=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000.0, help="posts per second offered")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long posts arrive")
    parser.add_argument("--monitors", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(bench(args, Path(tmp)))
    print(
        f"{result['alert_events']} alert events: p50 {result['p50_s']} s, p99 {result['p99_s']} s"
        f" (after {WARM_S:g} s: p50 {result['warm_p50_s']} s, p99 {result['warm_p99_s']} s);"
        f" offered {args.rate:g} posts/s, stored {result['stored']},"
        f" detectors sustained {result['posts_per_s']} posts/s"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
