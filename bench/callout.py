"""Call-out benchmark: how fast the nearest eligible volunteers are selected (and, added by the
call-out work, how fast their notifications go out), with 100,000 volunteers spread over the
Netherlands by real population.

The volunteers live at random points inside the CBS municipality shapes
(../shared/data/geo/gemeenten_2023_simplified.geojson, CC BY 4.0), each municipality drawing as
many as its population (`aantalInwoners`, 2023) weighs; they are stored the way the register
stores them (sealed private part, blind cells, keyed e-mail hash) by the bulk path of the tests.
Their own radius is 1-25 km, one in four offers skills, one in four has weekly hours, 90% are
active. Then 200 call-outs at population-weighted random points and random moments of a week
ask for the 30 nearest eligible within 10 km (`Selector.select`, as a call-out does), on SQLite
and on PostgreSQL (`--pg URL`, else $STADSPULS_TEST_PG_URL: a fresh database there).

    python bench/callout.py [--volunteers 100000] [--callouts 200] [--pg URL]

Prints the figures; the last line is one JSON object; each measurement is a function returning
a dict, and `main` merges them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from bench.callout_notify import measure_notify

from stadspuls.cases.places import inside_ring
from stadspuls.sealed import Sealer
from stadspuls.settings import BlueskySettings, Settings
from stadspuls.store.database import create_engine, open_store
from stadspuls.volunteers.records import SKILLS, WeeklySpan
from stadspuls.volunteers.select import Selector
from tests.support.volunteers import Seed, add_volunteers

SHAPES = Path(__file__).resolve().parents[2] / "shared" / "data" / "geo"
SHAPES_FILE = SHAPES / "gemeenten_2023_simplified.geojson"
Ring = list[tuple[float, float]]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Country:
    """Municipality polygons (lon, lat) with their population, for weighted random points."""

    def __init__(self, path: Path) -> None:
        features = json.loads(path.read_text("utf-8"))["features"]
        self.shapes: list[tuple[list[Ring], tuple[float, float, float, float]]] = []
        self.weights: list[int] = []
        for feature in features:
            people = int(feature["properties"].get("aantalInwoners") or 0)
            geometry = feature["geometry"]
            polygons = (
                [geometry["coordinates"]]
                if geometry["type"] == "Polygon"
                else geometry["coordinates"]
            )
            rings = [[(x, y) for x, y in ring] for polygon in polygons for ring in polygon]
            if people <= 0 or not rings:
                continue
            xs = [x for ring in rings for x, _ in ring]
            ys = [y for ring in rings for _, y in ring]
            self.shapes.append((rings, (min(xs), min(ys), max(xs), max(ys))))
            self.weights.append(people)

    def points(self, rng: random.Random, n: int) -> Iterator[tuple[float, float]]:
        """`n` random (lat, lon), by population, uniform inside each municipality."""
        for rings, (x0, y0, x1, y1) in rng.choices(self.shapes, weights=self.weights, k=n):
            while True:
                x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
                if sum(inside_ring(x, y, ring) for ring in rings) % 2:
                    yield y, x
                    break


def _seed(rng: random.Random, lat: float, lon: float) -> Seed:
    hours: tuple[WeeklySpan, ...] = ()
    if rng.random() < 0.25:  # evenings, some past midnight
        start = clock(rng.choice((7, 9, 17, 18, 20)))
        end = clock(rng.choice((1, 12, 17, 22, 23)))
        hours = tuple(WeeklySpan(day, start, end) for day in rng.sample(range(7), 4))
    skills = tuple(rng.sample(SKILLS, rng.randint(1, 3))) if rng.random() < 0.25 else ()
    return Seed(
        lat=lat,
        lon=lon,
        radius_km=rng.choice((1.0, 2.0, 3.0, 5.0, 5.0, 10.0, 15.0, 25.0)),
        skills=skills,
        availability=hours,
        state=rng.choices(("active", "paused", "pending"), weights=(90, 7, 3))[0],
    )


def select_times(url: str, volunteers: int, callouts: int, seed: int) -> dict[str, Any]:
    """Fill a store at `url` and time `callouts` selections of the 30 nearest eligible."""
    rng = random.Random(seed)
    country = Country(SHAPES_FILE)
    engine = open_store(url)
    settings = Settings(db_url=url, mastodon=[], feeds=[], bluesky=BlueskySettings(enabled=False))
    sealer, key = Sealer(os.urandom(32)), os.urandom(32)
    started = time.perf_counter()
    people = [_seed(rng, lat, lon) for lat, lon in country.points(rng, volunteers)]
    add_volunteers(engine, sealer, key, people)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE volunteers"))
    load_s = time.perf_counter() - started
    selector = Selector(engine, settings, sealer=sealer, index_key=key)
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    points = list(country.points(rng, callouts))
    moments = [monday + timedelta(minutes=rng.randrange(7 * 24 * 60)) for _ in points]
    for lat, lon in points[:10]:  # warm the connection pool and the caches
        selector.select(lat=lat, lon=lon, radius_km=10, skills=(), wanted=30, at=monday)
    times, found, read = [], [], []
    for (lat, lon), at in zip(points, moments, strict=True):
        start = time.perf_counter()
        selection = selector.select(lat=lat, lon=lon, radius_km=10, skills=(), wanted=30, at=at)
        times.append((time.perf_counter() - start) * 1000)
        found.append(len(selection.candidates))
        read.append(selection.considered)
    engine.dispose()
    return {
        "load_s": round(load_s, 1),
        "p50_ms": round(_percentile(times, 0.5), 2),
        "p95_ms": round(_percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "mean_found": round(statistics.fmean(found), 1),
        "full": sum(1 for n in found if n == 30),
        "mean_rows_read": round(statistics.fmean(read)),
    }


@contextmanager
def _pg_database(base: str) -> Iterator[str]:
    name = f"bench_callout_{os.getpid()}"
    admin = create_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _report(name: str, figures: dict[str, Any], volunteers: int, callouts: int) -> None:
    print(
        f"{name}: {volunteers:,} volunteers stored in {figures['load_s']} s; {callouts} "
        f"selections of the 30 nearest eligible within 10 km: p50 {figures['p50_ms']} ms, "
        f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms; {figures['full']} found 30, "
        f"{figures['mean_found']} found on average, {figures['mean_rows_read']} rows read",
        file=sys.stderr,
    )


def measure_select(args: argparse.Namespace) -> dict[str, float]:
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures = select_times(f"sqlite:///{tmp}/callout.db", args.volunteers, args.callouts, 1)
    _report("SQLite", figures, args.volunteers, args.callouts)
    result["select_p95_ms"] = figures["p95_ms"]
    base = args.pg or os.environ.get("STADSPULS_TEST_PG_URL")
    if base:
        with _pg_database(base) as url:
            figures = select_times(url, args.volunteers, args.callouts, 1)
        _report("PostgreSQL", figures, args.volunteers, args.callouts)
        result["select_p95_ms_pg"] = figures["p95_ms"]
    else:
        print("PostgreSQL: skipped (no --pg and no $STADSPULS_TEST_PG_URL)", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--callouts", type=int, default=200)
    parser.add_argument("--pg", help="PostgreSQL server URL (a fresh database is made on it)")
    args = parser.parse_args()
    result: dict[str, float] = {}
    result |= measure_select(args)
    notify = measure_notify()  # 500 push + 500 e-mail to local servers (bench/callout_notify.py)
    print(f"notify: {json.dumps(notify, sort_keys=True)}", file=sys.stderr)
    result["notify_1000_s"] = notify["notify_1000_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
