"""Photos and hostile files for the media tests, made here (no binary fixtures in the repo)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

import numpy as np
from PIL import Image, ImageDraw


def scene(seed: int = 0, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A photo-like picture that differs clearly from one seed to the next."""
    width, height = size
    coarse = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(coarse, "RGB").resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    blob = max(8, min(width, height) // 6)
    for step in range(6):
        left = (seed * 131 + step * 197) % (width - blob)
        top = (seed * 71 + step * 113) % (height - blob)
        colour = ((seed * 50 + step * 40) % 256, (step * 90) % 256, (seed * 30) % 256)
        draw.ellipse((left, top, left + blob, top + blob * 9 // 10), fill=colour)
    return image


def jpeg(
    image: Image.Image,
    *,
    quality: int = 90,
    taken: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
    comment: bytes | None = None,
) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Stadspuls Test Camera"
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None:
        details = exif.get_ifd(0x8769)
        details[36867] = taken
        if offset is not None:
            details[36881] = offset
    if gps is not None:
        lat, lon = gps
        exif.get_ifd(0x8825).update(
            {
                1: "N" if lat >= 0 else "S",
                2: _dms(abs(lat)),
                3: "E" if lon >= 0 else "W",
                4: _dms(abs(lon)),
            }
        )
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality, "exif": exif}
    if comment is not None:
        options["comment"] = comment
    image.save(out, "JPEG", **options)
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (float(degrees), float(minutes), seconds)


def heic(image: Image.Image, *, taken: str | None = None) -> bytes:
    """An iPhone's format (HEIF with HEVC), written with pillow-heif."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x010F] = "Stadspuls Test Camera"
    if taken is not None:
        exif.get_ifd(0x8769)[36867] = taken
    out = io.BytesIO()
    image.save(out, "HEIF", quality=80, exif=exif)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def bomb_png(side: int = 30_000) -> bytes:
    """A valid PNG of side x side one-bit pixels, all zero: about 100 KB on disk, 900 million
    pixels once decoded."""
    row = b"\x00" + bytes((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def mp4_head() -> bytes:
    """The start of an MP4 file: an ftyp box (brand isom) and an empty mdat."""
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2"
    mdat = struct.pack(">I", 8 + 64) + b"mdat" + bytes(64)
    return ftyp + mdat


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def from_iterable(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def exif_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)
