"""Screenshots of every dashboard page in real Chromium, on a demo store with realistic data.

    .venv/bin/python scripts/screenshots.py [--out test-artifacts/pages] [--keep DIR]

Builds a throw-away store from the shared data (`../shared/data`: the Haaglanden/Rotterdam P2000
log and Dutch tweets, their times moved into the last 30 days with their time of day kept, and a
burst of fire reports in the last hours), creates monitors, users and two alerts, serves the app
on a free loopback port and photographs each page at 1280×800 and 1920×1080, light and dark,
as an admin and (the monitor page) as a viewer. Needs Debian's chromium (`/usr/bin/chromium`).
"""

from __future__ import annotations

import argparse
import csv
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from stadspuls.access.roles import cli_actor
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import Monitor, Post, Signal, User
from stadspuls.settings import BlueskySettings, Settings
from stadspuls.sources.p2000_csv import RowMapper
from stadspuls.store import alerts, users
from stadspuls.store.database import open_store
from stadspuls.web.app import create_app
from stadspuls.web.auth import SESSION_COOKIE

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CHROMIUM = "/usr/bin/chromium"
DAYS = 30
SIZES = {"1280x800": (1280, 800), "1920x1080": (1920, 1080)}
BURST = [
    "Grote brand bij de haven in Rotterdam, enorme rookwolk boven Charlois",
    "Ramen en deuren dicht in Rotterdam-Zuid vanwege de rook van de brand",
    "Brandweer Rotterdam schaalt op naar GRIP 1, brand in loods Waalhaven",
    "Wat een rook boven Rotterdam, je ziet het vanaf de Erasmusbrug",
    "NL-Alert ontvangen: brand Waalhaven Rotterdam, houd ramen en deuren gesloten",
    "Mijn hele straat ruikt naar rook, brand in de haven van Rotterdam?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _shift(moment: datetime, index: int, total: int, now: datetime) -> datetime:
    """Spread the rows over the last DAYS days in file order, keeping their time of day."""
    day = (now - timedelta(days=DAYS - 1)).date() + timedelta(days=index * DAYS // total)
    moved = datetime.combine(day, moment.timetz()).replace(tzinfo=UTC)
    return moved if moved < now else moved - timedelta(days=1)


def demo_posts(now: datetime) -> list[Post]:
    rng = random.Random(9)
    posts: list[Post] = []
    mapper = RowMapper()
    with (SHARED / "p2000" / "haaglanden_rotterdam_2019_2020.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        post = mapper(row)
        posts.append(
            Post(
                **{
                    **{f: getattr(post, f) for f in post.__struct_fields__},
                    "created_at": _shift(post.created_at, i, len(rows), now),
                }
            )
        )
    with (SHARED / "sentiment_nl_tweets" / "train.csv").open(encoding="utf-8") as f:
        tweets = [r["text"] for r in csv.DictReader(f)]
    for i, text in enumerate(tweets * 3):
        hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 6, 8, 8, 8, 9] * 2)[0]
        day = now - timedelta(days=rng.randrange(DAYS))
        at = day.replace(hour=hour, minute=rng.randrange(60))
        posts.append(
            Post(
                id=f"bluesky:demo{i}",
                source="bluesky",
                native_id=f"demo{i}",
                created_at=min(at, now - timedelta(minutes=2)),
                text=text,
                author=f"burger{rng.randrange(400)}.bsky.social",
                url=f"https://bsky.app/profile/demo/post/{i}",
            )
        )
    for i in range(160):  # the last three hours: a fire in the port of Rotterdam
        posts.append(
            Post(
                id=f"bluesky:burst{i}",
                source="bluesky" if i % 3 else "mastodon",
                native_id=f"burst{i}",
                created_at=now - timedelta(minutes=rng.randrange(1, 180)),
                text=BURST[i % len(BURST)] + rng.choice(["", " #brand", " #rotterdam", "!"]),
                author=f"rotterdammer{rng.randrange(120)}.bsky.social",
                url=f"https://bsky.app/profile/demo/post/burst{i}",
            )
        )
    return posts


MONITORS = [
    ("Brand Rotterdam", "brand OR rook* OR brandweer", "Rotterdam"),
    ("Ambulance-inzet Haaglanden", "ambulance OR A1 OR A2", ""),
    ("Stemming over corona", "corona OR covid OR vaccin*", ""),
    ("Politie en veiligheid", "politie OR agent* OR inbraak", ""),
    ("Verkeer en ongevallen", "ongeval OR aanrijding OR file", ""),
]


def build(directory: Path) -> tuple[Settings, dict[str, int]]:
    settings = Settings(
        db_url=f"sqlite:///{directory / 'demo.db'}",
        key_file=directory / "secrets" / "pseudonym.key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )
    engine = open_store(settings.db_url)
    now = datetime.now(UTC)
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process(demo_posts(now))
    pipeline.close()
    app = create_app(settings, engine=engine)
    ids: dict[str, int] = {}
    for name, query, places in MONITORS:
        saved, _ = app.state.reads.create_monitor(
            cli_actor("demo"),
            Monitor(
                name=name,
                query=query,
                owner="c.devries",
                purpose=f"Situational awareness: {name.lower()}",
                legal_basis="public-task",
                retention_days=30,
                places=(places,) if places else (),
            ),
        )
        assert saved.id is not None
        ids[name] = saved.id
    with engine.begin() as conn:
        alerts.record_signals(
            conn,
            [
                Signal(
                    monitor_id=ids["Brand Rotterdam"],
                    detector="burst",
                    at=now - timedelta(minutes=4),
                    started_at=now - timedelta(hours=2),
                    observed=96,
                    expected=7.5,
                    severity="high",
                    summary="96 posts in 2 h, 7.5 expected",
                ),
                Signal(
                    monitor_id=ids["Stemming over corona"],
                    detector="negative",
                    at=now - timedelta(hours=3),
                    started_at=now - timedelta(hours=9),
                    observed=0.61,
                    expected=0.35,
                    severity="low",
                    summary="61% negative, 35% expected",
                ),
            ],
        )
    for username, role in (("c.devries", "admin"), ("j.bakker", "viewer")):
        users.create_user(engine, User(username=username, role=role), password_hash=None)
    engine.dispose()
    return settings, ids


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    port = _free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def shoot(settings: Settings, ids: dict[str, int], out: Path) -> list[Path]:
    engine = open_store(settings.db_url)
    cookies = {}
    for username in ("c.devries", "j.bakker"):
        user = users.find_user(engine, username)
        assert user is not None
        assert user.id is not None
        cookies[username], _ = users.create_session(engine, user.id, ttl_s=3600)
    fire = ids["Brand Rotterdam"]
    pages = [
        ("overview", "c.devries", "/"),
        ("monitor", "c.devries", f"/monitors/{fire}?range=24h"),
        ("monitor-7d", "c.devries", f"/monitors/{fire}?range=7d"),
        ("monitor-viewer", "j.bakker", f"/monitors/{fire}?range=7d"),
        ("search", "c.devries", "/search?q=brand+rotterdam"),
        ("search-error", "c.devries", "/search?q=brand+AND+(rook+OR"),
        ("monitors", "c.devries", "/monitors"),
        ("monitor-new", "c.devries", "/monitors/new?query=brand+haven"),
        ("monitor-edit", "c.devries", f"/monitors/{fire}/edit"),
        ("governance", "c.devries", "/governance"),
        ("alerts", "c.devries", "/alerts"),
        ("map", "c.devries", f"/map?monitor={fire}"),
        ("overview-viewer", "j.bakker", "/"),
    ]
    server, base = serve(settings)
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            for size, (width, height) in SIZES.items():
                for scheme in ("light", "dark"):
                    for username, cookie in cookies.items():
                        context = browser.new_context(
                            viewport={"width": width, "height": height}, color_scheme=scheme
                        )
                        context.add_cookies(
                            [{"name": SESSION_COOKIE, "value": cookie, "url": base}]
                        )
                        page = context.new_page()
                        for name, who, path in pages:
                            if who != username:
                                continue
                            page.goto(base + path, wait_until="networkidle")
                            target = out / f"{name}-{size}-{scheme}.png"
                            page.screenshot(path=str(target), full_page=True)
                            written.append(target)
                        context.close()
            browser.close()
    finally:
        server.should_exit = True
        engine.dispose()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "test-artifacts" / "pages")
    parser.add_argument("--keep", type=Path, help="build the demo store here and keep it")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"needs {SHARED} (the shared data beside this checkout)", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print("needs Debian's chromium: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        settings, ids = build(directory)
        print(f"demo store built in {time.monotonic() - started:.1f} s", file=sys.stderr)
        for path in shoot(settings, ids, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
