"""Dashboard benchmark: server time of the overview and of a monitor page over 7 days, with 2M
stored posts over 90 days and 100 monitors.

Builds (once; cached in var/bench-dashboard.db, `--rebuild` to build again) a synthetic but
realistic store: a daily and weekly rhythm, a few bursts, ~20k authors of very unequal activity,
hashtags, municipalities, sentiment, incident types and languages; monitors of very unequal size.
Posts and links are inserted directly (batched executemany on SQLite, COPY on PostgreSQL), then
rolled up with the rollup's own rebuild (timed). Then times the read service's calls that the
pages make (for the monitor page: the view and, for an analyst, the feed's first page of posts,
audited as the page does), for an analyst and for a viewer (whose numbers pass the privacy
floor), and prints p50/p95. The last line is one JSON object:
{"overview_p95_ms", "monitor_p95_ms", "p95_ms"}.

    python bench/dashboard.py [--db URL] [--rebuild] [--reps 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from stadspuls import rollups
from stadspuls.access.roles import allows
from stadspuls.enrich.places import load_table
from stadspuls.records import Actor, Monitor, Signal
from stadspuls.service.reads import ReadService
from stadspuls.settings import Settings
from stadspuls.store import alerts as alert_store
from stadspuls.store import monitors as monitor_store
from stadspuls.store.database import open_store
from stadspuls.store.rows import to_us
from stadspuls.store.schema import monitor_posts, posts
from stadspuls.web.pages.monitor import FEED_SIZE

END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # "now" of the benchmark
DAYS = 90
HOURS = DAYS * 24
DEFAULT_DB = Path(__file__).resolve().parent.parent / "var" / "bench-dashboard.db"
ANALYST = Actor(user_id=None, username="bench-analyst", role="analyst", via="cli")
VIEWER = Actor(user_id=None, username="bench-viewer", role="viewer", via="cli")

WORDS = [
    "brand",
    "politie",
    "drukte",
    "storing",
    "verkeer",
    "file",
    "wateroverlast",
    "ongeluk",
    "demonstratie",
    "stroom",
    "trein",
    "vertraging",
    "station",
    "centrum",
    "markt",
    "festival",
    "concert",
    "wedstrijd",
    "supporters",
    "rook",
    "explosie",
    "ambulance",
    "brandweer",
    "gemeente",
    "burgemeester",
    "noodverordening",
    "evacuatie",
    "regen",
    "storm",
    "wind",
    "onweer",
    "hagel",
    "sneeuw",
    "gladheid",
    "school",
    "ziekenhuis",
    "stremming",
    "brug",
    "snelweg",
    "afrit",
    "omleiding",
    "vuurwerk",
    "overlast",
    "geluid",
    "buren",
    "feest",
    "kermis",
    "carnaval",
    "koningsdag",
    "schiphol",
    "vlucht",
    "staking",
    "protest",
    "boeren",
    "trekkers",
    "water",
    "dijk",
    "rivier",
    "hoogwater",
    "lekkage",
    "gaslek",
    "asbest",
    "stank",
    "vervuiling",
    "melding",
    "getuigen",
    "schade",
    "gewonden",
    "slachtoffers",
    "hulpdiensten",
    "afgezet",
    "ontruimd",
    "opgepakt",
    "aanhouding",
    "inbraak",
    "diefstal",
    "fiets",
    "auto",
    "scooter",
    "bus",
    "tram",
    "metro",
    "wachten",
    "weer",
    "goed",
    "slecht",
    "mooi",
    "vreselijk",
    "geweldig",
    "eindelijk",
    "gelukkig",
    "helaas",
    "morgen",
    "vandaag",
    "gisteren",
    "avond",
    "nacht",
    "ochtend",
]
TAGS = [f"tag{i}" for i in range(400)] + ["brand", "storm", "file", "p2000", "ns", "psv", "ajax"]
TYPES = ["fire", "traffic", "weather", "crime", "medical", "public_order", "infrastructure"]
LANGS = ["nl"] * 16 + ["en"] * 3 + ["de"]
SOURCES = ["bluesky"] * 6 + ["mastodon"] * 2 + ["rss", "p2000"]
SENTIMENTS = ["negative", "neutral", "positive"]


def _hour_weights(rng: np.random.Generator) -> np.ndarray:
    """Relative volume of each hour: a daily curve, quieter weekends, slow growth, bursts."""
    daily = np.array([0.25, 0.15, 0.1, 0.08, 0.08, 0.15, 0.4, 0.8, 1.0, 1.0, 1.0, 1.05, 1.1,
                      1.0, 1.0, 1.0, 1.1, 1.2, 1.3, 1.4, 1.4, 1.2, 0.8, 0.45])  # fmt: skip
    start = END - timedelta(days=DAYS)
    weights = np.empty(HOURS)
    for h in range(HOURS):
        moment = start + timedelta(hours=h)
        weekend = 0.75 if moment.weekday() >= 5 else 1.0
        weights[h] = daily[moment.hour] * weekend * (0.9 + 0.2 * h / HOURS)
    weights *= rng.lognormal(0.0, 0.15, HOURS)
    return np.asarray(weights / weights.sum())


def _monitor_weights() -> np.ndarray:
    ranks = np.arange(1, 101, dtype=float)
    weights = ranks**-0.8
    return np.asarray(weights / weights.sum())


def synthetic_posts(
    n: int, seed: int = 11
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[int, int, int]]]]:
    """Chunks of (post rows, (monitor index, pk, created_us) links), in time order."""
    rng = np.random.default_rng(seed)
    start_us = to_us(END - timedelta(days=DAYS))
    hour_us = 3_600_000_000
    per_hour = rng.multinomial(n, _hour_weights(rng))
    # Bursts: eight monitors get a few hours of several times their volume.
    bursts = {(int(rng.integers(0, 100)), int(rng.integers(24, HOURS - 1))) for _ in range(8)}
    codes = [e.place.code for e in load_table()]
    codes = sorted(set(codes))
    place_weights = rng.pareto(1.2, len(codes)) + 0.05
    place_weights /= place_weights.sum()
    author_weights = rng.pareto(1.1, 20_000) + 0.02
    author_weights /= author_weights.sum()
    monitor_weights = _monitor_weights()
    pk = 0
    rows: list[tuple[Any, ...]] = []
    links: list[tuple[int, int, int]] = []
    for hour in range(HOURS):
        count = int(per_hour[hour])
        burst_monitors = [m for m, h in bursts if h <= hour < h + 3]
        extra = 400 * len(burst_monitors)
        total = count + extra
        if not total:
            continue
        offsets = np.sort(rng.integers(0, hour_us, total))
        authors = rng.choice(20_000, total, p=author_weights)
        primary = rng.choice(100, total, p=monitor_weights)
        second = rng.random(total) < 0.25
        other = rng.integers(0, 100, total)
        sentiment = rng.choice(3, total, p=[0.3, 0.5, 0.2])
        has_place = rng.random(total) < 0.45
        place = rng.choice(len(codes), total, p=place_weights)
        has_type = rng.random(total) < 0.3
        kinds = rng.integers(0, len(TYPES), total)
        tag_counts = rng.choice(4, total, p=[0.45, 0.3, 0.17, 0.08])
        word_counts = rng.integers(6, 18, total)
        for i in range(total):
            pk += 1
            created = start_us + hour * hour_us + int(offsets[i])
            words = rng.choice(len(WORDS), int(word_counts[i]))
            tags = sorted({TAGS[int(t)] for t in rng.integers(0, len(TAGS), int(tag_counts[i]))})
            text = " ".join(WORDS[int(w)] for w in words) + "".join(f" #{t}" for t in tags)
            code = codes[int(place[i])]
            places = (
                json.dumps(
                    [{"code": code, "name": code, "municipality": code, "lat": 52.0, "lon": 5.0}]
                )
                if has_place[i]
                else None
            )
            rows.append((
                pk, f"bench:{pk}", SOURCES[pk % len(SOURCES)], str(pk), created, created, text,
                f"{int(authors[i]) * 2654435761 % 2**64:016x}", LANGS[pk % len(LANGS)],
                json.dumps(tags) if tags else None, SENTIMENTS[int(sentiment[i])],
                TYPES[int(kinds[i])] if has_type[i] else None, places,
            ))  # fmt: skip
            monitor = burst_monitors[(i - count) // 400] if i >= count else int(primary[i])
            links.append((monitor, pk, created))
            if second[i] and int(other[i]) != monitor:
                links.append((int(other[i]), pk, created))
        if len(rows) >= 50_000:
            yield rows, links
            rows, links = [], []
    if rows:
        yield rows, links


POST_COLUMNS = ("pk", "id", "source", "native_id", "created_us", "collected_us", "text",
                "author_key", "lang", "hashtags", "sentiment", "incident_type",
                "places")  # fmt: skip


def build(engine: sa.Engine, n: int) -> dict[str, float]:
    """Monitors, posts and links, then the rollups; the seconds each took."""
    ids = []
    for rank in range(100):
        saved = monitor_store.insert_monitor(
            engine,
            Monitor(name=f"monitor-{rank:03d}", query=f"onderwerp{rank}", owner="bench",
                    purpose="benchmark of the dashboard", legal_basis="public-task",
                    retention_days=90),
        )  # fmt: skip
        assert saved.id is not None
        ids.append(saved.id)
    began = time.perf_counter()
    inserted = 0
    for rows, links in synthetic_posts(n):
        _insert(engine, rows, [(ids[m], pk, created) for m, pk, created in links])
        inserted += len(rows)
        print(f"  inserted {inserted:,} posts", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    insert_s = time.perf_counter() - began
    with engine.begin() as conn:
        for m in ids[:12:3]:  # a few open alerts, as a duty shift would have
            alert_store.record_signals(conn, [Signal(
                monitor_id=m, detector="burst", at=END - timedelta(hours=2),
                started_at=END - timedelta(hours=3), observed=50, expected=10, severity="high",
            )], now_us=to_us(END))  # fmt: skip
    if engine.dialect.name == "postgresql":
        # What autovacuum does some time after a bulk load: statistics for the planner.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    began = time.perf_counter()
    counted = rollups.rebuild(engine)
    rollup_s = time.perf_counter() - began
    print(f"  rolled up {counted:,} links in {rollup_s:.1f} s", file=sys.stderr)
    return {"insert_s": insert_s, "rollup_s": rollup_s, "links": counted}


def _insert(
    engine: sa.Engine, rows: list[tuple[Any, ...]], links: list[tuple[int, int, int]]
) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(POST_COLUMNS))
            cursor.executemany(
                f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES ({marks})", rows
            )
            cursor.executemany(
                "INSERT INTO monitor_posts (monitor_id, post_pk, created_us) VALUES (?, ?, ?)",
                links,
            )
        else:
            with cursor.copy(f"COPY posts ({', '.join(POST_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with cursor.copy(
                "COPY monitor_posts (monitor_id, post_pk, created_us) FROM STDIN"
            ) as copy:
                for link in links:
                    copy.write_row(link)
        raw.commit()
    finally:
        raw.close()


def _stored(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(posts)).scalar_one())


def _time(call: Callable[[], object], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        began = time.perf_counter()
        call()
        out.append((time.perf_counter() - began) * 1000)
    return out


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help=f"database URL (default: sqlite:///{DEFAULT_DB})")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--posts", type=int, default=2_000_000)
    parser.add_argument("--reps", type=int, default=30, help="timed calls per page and role")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{DEFAULT_DB}"
    if args.rebuild and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = open_store(url)
    if args.rebuild and engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            for table in ("monitor_facets", "monitor_buckets", "alert_deliveries", "alert_events",
                          "alerts", "monitor_posts", "posts", "monitors"):  # fmt: skip
                conn.exec_driver_sql(f"DELETE FROM {table}")
    built: dict[str, float] = {}
    stored = _stored(engine)
    if stored == 0:
        print(f"building {args.posts:,} posts over {DAYS} days, 100 monitors", file=sys.stderr)
        built = build(engine, args.posts)
        stored = _stored(engine)
    with engine.connect() as conn:
        links = int(
            conn.execute(sa.select(sa.func.count()).select_from(monitor_posts)).scalar_one()
        )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_url=url, key_file=Path(tmp) / "key")
        reads = ReadService(engine, settings, pseudonymise=lambda handle: handle)
        monitors = [m.id for m in monitor_store.list_monitors(engine) if m.id is not None]
        week = END - timedelta(days=7)
        results: dict[str, tuple[float, float]] = {}
        for actor in (ANALYST, VIEWER):

            def overview(a: Actor = actor) -> None:
                reads.overview(a, now=END)

            results[f"overview {actor.role}"] = _percentiles(_time(overview, args.reps))
            chosen = iter(range(10**9))

            def page(a: Actor = actor, turn: Iterator[int] = chosen) -> None:
                # Monitors spread over all sizes, the busiest and the smallest alike.
                m = monitors[(next(turn) * 7) % len(monitors)]
                reads.monitor_view(a, m, since=week, until=END)
                if allows(a, "posts"):  # the analyst's page also shows the feed's first page
                    reads.posts(a, monitor_id=m, limit=FEED_SIZE)

            results[f"monitor 7 days {actor.role}"] = _percentiles(_time(page, args.reps))
    print(f"{stored:,} posts, {links:,} links, {len(monitors)} monitors, {engine.dialect.name}")
    if built:
        print(f"  insert {built['insert_s']:.1f} s, rollup (rebuild) {built['rollup_s']:.1f} s "
              f"for {int(built['links']):,} links")  # fmt: skip
    print("server time per call (ms), ReadService as the pages call it:")
    for name, (p50, p95) in results.items():
        print(f"  {name:<26} p50 {p50:7.1f}   p95 {p95:7.1f}")
    overview_p95 = max(results["overview analyst"][1], results["overview viewer"][1])
    monitor_p95 = max(results["monitor 7 days analyst"][1], results["monitor 7 days viewer"][1])
    print(json.dumps({"overview_p95_ms": round(overview_p95, 1),
                      "monitor_p95_ms": round(monitor_p95, 1),
                      "p95_ms": round(max(overview_p95, monitor_p95), 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
