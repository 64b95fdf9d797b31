"""Public intake benchmark: reports with real-size photos through POST /melden, as a flood of
tips after an incident would send them, while the staff inbox stays in use.

1. Photos: `--pool` JPEGs of 1–5 MB with EXIF DateTimeOriginal and GPS, made once with Pillow
   from noise over a gradient (noise does not compress away, so the sizes are a phone's).
2. A real `stadspuls run` on a temporary SQLite store, in its own process, with the abuse
   limits raised for the run (every client comes from 127.0.0.1).
3. `--clients` concurrent httpx clients send `--reports` reports in all, each with one photo
   (every fourth with two), through the form as a browser does (GET for the form token, then a
   multipart POST); each report's latency runs from its first byte to the 303 that ends it.
4. Meanwhile the staff inbox (GET /cases, or /api/cases when the pages are not installed) is
   timed once a second with an admin's token.
5. At the end the store is counted: every report a case, every photo a media row.

    python bench/intake.py [--reports 2000] [--clients 20] [--pool 24]

Last line: one JSON object {"reports_per_s", "p95_s", "lost", "inbox_p95_s", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stadspuls.records import User
from stadspuls.store import users
from stadspuls.store.database import open_store
from stadspuls.store.schema import cases, media

CSRF_COOKIE = "stadspuls_public_csrf"
# A 12-megapixel noisy gradient's JPEG size (MB) for a noise amplitude, measured with Pillow.
NOISE_MB = (1.23, 1.99, 2.98, 4.0, 5.1)
NOISE_AMPLITUDE = (6, 10, 16, 24, 34)
MB = 1024 * 1024
TEXTS = (
    "Ik zag rook uit het dak van de loods komen, rond kwart over twee.",
    "Er rende iemand weg richting het station, donkere jas, rode tas.",
    "Foto van de brand vanaf de overkant, gemaakt vanaf het balkon.",
    "Twee mensen stonden te filmen bij de ingang toen het begon.",
)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _dms(value: float) -> tuple[float, float, float]:
    """Degrees as EXIF's degrees, minutes and seconds."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 2)


def photo(seed: int, target_mb: float) -> bytes:
    """A JPEG of about `target_mb` MB, taken around Utrecht Centraal at a time in the last day."""
    rng = np.random.default_rng(seed)
    width, height = 4000, 3000  # 12 megapixels, as most phones take
    ramp = np.linspace(40, 215, width).astype(np.int16)
    base = np.stack([ramp, ramp[::-1], np.full(width, 128, np.int16)], axis=-1)
    # The noise's amplitude sets the size (JPEG keeps noise); measured at quality 88.
    amplitude = round(float(np.interp(target_mb, NOISE_MB, NOISE_AMPLITUDE)))
    noise = rng.integers(-amplitude, amplitude + 1, size=(height, width, 3), dtype=np.int16)
    image = np.clip(base[None, :, :] + noise, 0, 255).astype(np.uint8)
    picture = Image.fromarray(image)
    exif = Image.Exif()
    taken = datetime.now(UTC) - timedelta(hours=int(rng.integers(1, 24)))
    exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    lat, lon = 52.0894 + rng.normal(0, 0.002), 5.1100 + rng.normal(0, 0.002)
    exif.get_ifd(0x8825).update(
        {1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)}  # GPSLatitudeRef … GPSLongitude
    )
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def make_pool(folder: Path, count: int) -> list[Path]:
    paths = []
    for n in range(count):
        path = folder / f"IMG_{n:04d}.jpg"
        if not path.exists():
            path.write_bytes(photo(n, 1.2 + 3.6 * n / max(1, count - 1)))
        paths.append(path)
    return paths


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Server:
    """`stadspuls run` in its own process, on a store in `root`."""

    def __init__(self, root: Path, reports: int) -> None:
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{root / 'stadspuls.db'}"
        self.env = {
            **os.environ,
            "STADSPULS_KEY_FILE": str(root / "pseudonym.key"),
            "STADSPULS_ENRICHERS": "[]",
            "STADSPULS_DOOR_PROCESS": "false",
            "STADSPULS_INBOX__MEDIA_DIR": str(root / "media"),
            "STADSPULS_INBOX__REPORTS_PER_ADDRESS_HOUR": str(reports * 2),
            "STADSPULS_INBOX__REPORTS_PER_CALL_MINUTE": str(reports * 2),
            "STADSPULS_INBOX__DECODE_WORKERS": str(max(2, os.cpu_count() or 2)),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "stadspuls.cli", "run", "--no-collect"]
        command += ["--port", str(self.port), "--db", self.db]
        log = (self.root / "server.log").open("wb")
        # A session of its own, so that stopping it also stops the decoder processes it started.
        self.process = subprocess.Popen(
            command, env=self.env, stderr=log, stdout=log, start_new_session=True
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.root / "server.log").read_text())
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)
            # Whatever the server left behind (its decoder processes) goes with its session.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)


def admin_token(db: str) -> str:
    engine = open_store(db)
    user = users.create_user(engine, User(username="bench-admin", role="admin"), password_hash=None)
    assert user.id is not None
    token = users.create_token(engine, user.id, "bench")
    engine.dispose()
    return token


class Run:
    def __init__(self, pool: list[Path], reports: int) -> None:
        self.pool = [(path.name, path.read_bytes()) for path in pool]
        self.reports = reports
        self.next = 0
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.photos_sent = 0
        self.done = False

    def take(self) -> int | None:
        if self.next >= self.reports:
            return None
        self.next += 1
        return self.next - 1

    async def client(self, url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            await client.get("/melden")
            csrf = client.cookies.get(CSRF_COOKIE) or ""
            while (number := self.take()) is not None:
                count = 2 if number % 4 == 3 else 1
                files = [
                    ("media", (name, data, "image/jpeg"))
                    for name, data in random.sample(self.pool, count)
                ]
                data = {
                    "csrf": csrf,
                    "kind": "tip",
                    "text": f"{TEXTS[number % len(TEXTS)]} (melding {number})",
                    "consent": "1",
                    "lat": "52.0894",
                    "lon": "5.1100",
                }
                start = time.perf_counter()
                try:
                    response = await client.post("/melden", data=data, files=files)
                except httpx.HTTPError as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                    continue
                elapsed = time.perf_counter() - start
                if response.status_code == 303:
                    self.latencies.append(elapsed)
                    self.photos_sent += count
                    if len(self.latencies) % 100 == 0:
                        print(f"{len(self.latencies)} reports stored", file=sys.stderr)
                else:
                    self.failures.append(f"HTTP {response.status_code}")

    async def inbox(self, url: str, token: str, timings: list[float], path: list[str]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
            probe = await client.get("/cases")
            path.append("/cases" if probe.status_code == 200 else "/api/cases")
            while not self.done:
                start = time.perf_counter()
                response = await client.get(path[0])
                if response.status_code == 200:
                    timings.append(time.perf_counter() - start)
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - start)))


async def flood(run: Run, url: str, token: str, clients: int) -> tuple[float, list[float], str]:
    timings: list[float] = []
    path: list[str] = []
    watcher = asyncio.create_task(run.inbox(url, token, timings, path))
    start = time.perf_counter()
    await asyncio.gather(*(run.client(url) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    run.done = True
    await watcher
    return elapsed, timings, path[0] if path else ""


def count(db: str) -> tuple[int, int]:
    engine = open_store(db)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one()
        photos = conn.execute(sa.select(sa.func.count()).select_from(media)).scalar_one()
    engine.dispose()
    return int(stored), int(photos)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--pool", type=int, default=24, help="distinct photos to send")
    parser.add_argument("--photos", type=Path, help="keep the generated photos here")
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory(prefix="stadspuls-intake-") as temporary:
        root = Path(temporary)
        folder = args.photos or root / "photos"
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        pool = make_pool(folder, args.pool)
        sizes = [path.stat().st_size / MB for path in pool]
        print(
            f"{len(pool)} photos, {min(sizes):.1f}–{max(sizes):.1f} MB"
            f" (made in {time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
        )
        server = Server(root, args.reports)
        server.start()
        try:
            token = admin_token(server.db)
            run = Run(pool, args.reports)
            elapsed, inbox, path = asyncio.run(flood(run, server.url, token, args.clients))
        finally:
            server.stop()
        stored, photos = count(server.db)
        if run.failures:
            log = (root / "server.log").read_text(errors="replace").splitlines()
            kept = Path(tempfile.gettempdir()) / "stadspuls-intake-server.log"
            kept.write_text("\n".join(log))
            print(f"the server's log: {kept}", file=sys.stderr)
    for failure in sorted(set(run.failures))[:10]:
        print(f"failed: {failure} ({run.failures.count(failure)}x)", file=sys.stderr)
    result = {
        "reports": args.reports,
        "clients": args.clients,
        "photos_mb": [round(min(sizes), 1), round(max(sizes), 1)],
        "reports_per_s": round(len(run.latencies) / elapsed, 2),
        "p50_s": round(_percentile(run.latencies, 0.5), 3),
        "p95_s": round(_percentile(run.latencies, 0.95), 3),
        "failed": len(run.failures),
        "cases": stored,
        "media": photos,
        # A report is lost when it was sent and is not in the store: refused, failed or dropped.
        "lost": (args.reports - stored) + (run.photos_sent - photos),
        "inbox": path,
        "inbox_p95_s": round(_percentile(inbox, 0.95), 3),
    }
    print(json.dumps(result))
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
