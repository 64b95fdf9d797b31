"""Photos per second through the media intake, as the public form hands them over.

Each photo is a 1–5 MB JPEG with EXIF (capture time, GPS, camera) generated here: a scene with
camera-like noise, 2–12 megapixels, so that sizes and decode costs spread as phone photos do.
Every photo is new (its EXIF differs), so none is skipped as already stored. `--concurrency`
uploads are in flight at once (the public form's clients), streamed in 64 KB chunks; the decoder
pool has `--workers` processes.

    python bench/media.py [--photos 200] [--concurrency 20] [--workers 4]

Also measured: one near-duplicate lookup among 100,000 perceptual hashes (media.phash), which
every stored photo pays once. Last line: one JSON object `{"photos_per_s", "mb_per_s",
"p50_s", "p95_s", "lost", "phash_lookup_ms_100k", ...}`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
from PIL import Image

from stadspuls.media.errors import MediaRejected
from stadspuls.media.intake import MediaIntake
from stadspuls.media.phash import PhashIndex
from stadspuls.settings import InboxSettings
from stadspuls.store.schema import media

SIZES = ((1600, 1200), (2400, 1800), (3000, 2250), (4000, 3000))


def photo(rng: np.random.Generator, number: int) -> bytes:
    width, height = SIZES[number % len(SIZES)]
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    base = np.asarray(
        Image.fromarray(coarse, "RGB").resize((width, height), Image.Resampling.BICUBIC),
        dtype=np.int16,
    )
    # Sensor noise: what makes a phone photo 1–5 MB rather than 200 KB.
    noisy = base + rng.normal(0, 14, base.shape).astype(np.int16)
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x010F] = "Benchcam"
    exif[0x0110] = f"Model {number}"
    details = exif.get_ifd(0x8769)
    details[36867] = f"2026:11:28 15:{number % 60:02d}:00"
    details[36881] = "+01:00"
    exif.get_ifd(0x8825).update(
        {1: "N", 2: (52.0, 5.0, float(number % 60)), 3: "E", 4: (5.0, 7.0, 12.0)}
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)


async def run(photos: list[bytes], intake: MediaIntake, concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []
    lost = 0

    async def one(number: int, data: bytes) -> None:
        nonlocal lost
        async with gate:
            started = time.perf_counter()
            try:
                await intake.accept(chunks(data), filename=f"IMG_{number}.JPG", declared_type=None)
            except MediaRejected as error:
                lost += 1
                print(f"refused photo {number}: {error.code}", file=sys.stderr)
                return
            durations.append(time.perf_counter() - started)

    await asyncio.gather(*(one(n, data) for n, data in enumerate(photos)))
    if lost:
        print(f"{lost} photos refused", file=sys.stderr)
    return durations


def phash_lookup_ms() -> float:
    index = PhashIndex(media)
    rng = np.random.default_rng(1)
    values = [f"{int(v):016x}" for v in rng.integers(0, 2**63, 100_000, dtype=np.int64)]
    index.add_many(list(range(1, 100_001)), values)
    started = time.perf_counter()
    for value in values[:200]:
        index.near(value)
    return (time.perf_counter() - started) / 200 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    args = parser.parse_args()

    rng = np.random.default_rng(2026)
    print(f"making {args.photos} photos...", file=sys.stderr)
    photos = [photo(rng, n) for n in range(args.photos)]
    sizes = [len(p) for p in photos]
    with tempfile.TemporaryDirectory() as folder:
        intake = MediaIntake(InboxSettings(media_dir=Path(folder), decode_workers=args.workers))
        # Start the pool (and its imports) before the clock runs.
        asyncio.run(intake.accept(chunks(photo(rng, 999)), filename="warm.jpg", declared_type=None))
        started = time.perf_counter()
        durations = asyncio.run(run(photos, intake, args.concurrency))
        elapsed = time.perf_counter() - started
        asyncio.run(intake.close())
    quantiles = statistics.quantiles(durations, n=100) if len(durations) > 1 else durations * 99
    print(
        json.dumps(
            {
                "photos": args.photos,
                "concurrency": args.concurrency,
                "workers": args.workers,
                "cpus": os.cpu_count(),
                "mb_min": round(min(sizes) / 1e6, 2),
                "mb_max": round(max(sizes) / 1e6, 2),
                "photos_per_s": round(len(durations) / elapsed, 2),
                "mb_per_s": round(sum(sizes) / 1e6 / elapsed, 1),
                "p50_s": round(statistics.median(durations), 3),
                "p95_s": round(quantiles[94], 3),
                "lost": args.photos - len(durations),
                "phash_lookup_ms_100k": round(phash_lookup_ms(), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
