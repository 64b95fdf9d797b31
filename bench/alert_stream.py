"""Alert store and live-stream benchmark: how fast signals become alerts, and how long an alert
event takes from its commit to a client of `GET /api/alerts/stream`.

1. `record_signals` throughput: `--signals` signals over `--monitors` monitors (three keys
   each), in batches of 500, each batch in one transaction (as a detector consumer commits).
2. Stream latency: a real uvicorn server with `--clients` SSE clients; one alert event is
   committed every `--interval` seconds; for each event and client, the time from just before
   its commit to its arrival. The part of the post → alert latency after the detectors.

    python bench/alert_stream.py [--db URL] [--events 200] [--clients 3]

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stadspuls.settings import BlueskySettings, Settings
from stadspuls.store import alerts as store
from stadspuls.store.database import open_store
from stadspuls.web.app import create_app
from tests.alerts.factories import add_monitor, signal
from tests.support.http import serve


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def throughput(url: str, monitors: int, signals: int) -> float:
    engine = open_store(url)
    ids = [add_monitor(engine, f"bench{n}") for n in range(monitors)]
    batch = [signal(ids[n % monitors], n / 100, key=str(n % 3)) for n in range(signals)]
    start = time.perf_counter()
    for first in range(0, signals, 500):
        with engine.begin() as conn:
            store.record_signals(conn, batch[first : first + 500])
    elapsed = time.perf_counter() - start
    engine.dispose()
    return signals / elapsed


async def _client(url: str, arrived: dict[int, list[float]], ready: asyncio.Event) -> None:
    async with (
        httpx.AsyncClient(base_url=url, timeout=None) as client,
        client.stream("GET", "/api/alerts/stream") as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith(":"):
                ready.set()
            elif line.startswith("id: "):
                arrived.setdefault(int(line[4:]), []).append(time.perf_counter())


async def latency(
    settings: Settings, events: int, clients: int, interval: float
) -> tuple[list[float], int]:
    engine = open_store(settings.db_url)
    monitor = add_monitor(engine, "stream")
    app = create_app(settings, engine=engine)
    arrived: dict[int, list[float]] = {}
    sent: dict[int, float] = {}
    async with serve(app) as url:
        readies = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(_client(url, arrived, ready)) for ready in readies]
        for ready in readies:
            await ready.wait()
        for n in range(events):
            start = time.perf_counter()
            with engine.begin() as conn:
                (event_id,) = store.record_signals(conn, [signal(monitor, n, key=str(n % 7))])
            sent[event_id] = start
            await asyncio.sleep(interval)
        await asyncio.sleep(1.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    engine.dispose()
    delays = [t - sent[i] for i, times in arrived.items() if i in sent for t in times]
    return delays, len(sent) * clients - len(delays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--signals", type=int, default=5000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.db or f"sqlite:///{folder / 'throughput.db'}"
    rate = throughput(url, args.monitors, args.signals)
    print(f"record_signals: {rate:,.0f} signals/s ({args.monitors} monitors, batches of 500)")
    settings = Settings(
        db_url=args.db or f"sqlite:///{folder / 'stream.db'}",
        key_file=folder / "key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )
    delays, lost = asyncio.run(latency(settings, args.events, args.clients, args.interval))
    p50, p99 = statistics.median(delays), _percentile(delays, 0.99)
    print(
        f"stream: {len(delays)} arrivals, {lost} missing; commit -> client"
        f" p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms"
    )
    print(
        json.dumps(
            {
                "signals_per_s": round(rate),
                "stream_p50_s": round(p50, 4),
                "stream_p99_s": round(p99, 4),
                "missing": lost,
            }
        )
    )


if __name__ == "__main__":
    main()
