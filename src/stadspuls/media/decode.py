"""Decoding in separate processes: a hostile or broken file can take down a worker, never the
server.

Each worker runs under an address-space limit (RLIMIT_AS) and kills itself with SIGPROF when one
file takes more CPU time than the timeout (the default action of SIGPROF ends the process even
when it is stuck inside C code, where a Python exception would never be raised). CPU time, not
wall time: on a machine busy with a flood of uploads a fair photo waits for a core, and that is
no reason to refuse it; a file built to make the decoder spin burns CPU and is stopped. The
parent sees the pool break, rebuilds it, and tries the file once more: files that were decoding
beside the culprit when it died get their second chance, the culprit dies again and is refused.

A pool of long-lived workers (forkserver: the server process has threads, and forking those is
unsafe) costs one start per worker; a process per file would pay Python's start and the imports
of Pillow and numpy (about 0.3 s) for every photo (bench/media.py measures the pool).
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import resource
import signal
import threading
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from stadspuls.media.errors import MediaRejected

log = logging.getLogger(__name__)

# The stripped copy staff see is at most this many pixels on its long side (the original stays
# as it came, for download): enough for a screen, and JPEG draft mode then decodes a 12-megapixel
# photo at half scale (2000 px), which with the resizing was 4x the work at 2048 px.
VIEW_PX = 1600
THUMB_PX = 320
_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/heic": "HEIF",
}


@dataclass(frozen=True)
class Job:
    path: str  # the received file (still in the vault's tmp folder)
    content_type: str  # what sniffing found
    thumb_path: str
    stripped_path: str  # without suffix: the worker adds .jpg or .png
    max_pixels: int
    timeout_s: float
    # False: only check and hash (images of monitored posts): no copies, no credentials.
    derive: bool = True


@dataclass(frozen=True)
class Decoded:
    width: int | None
    height: int | None
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    phash: str | None
    c2pa: str | None
    stripped_suffix: str | None  # ".jpg" | ".png"; None for a video
    had_exif: bool


class Refused(Exception):
    """The worker found the file unusable: `code` as in MediaRejected."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


def _start_worker(memory_mb: int) -> None:
    # numpy's BLAS reserves address space per thread; a worker needs none of its threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    # Import now, not on the first file, so that the first file's timeout is its own.
    import imagehash  # noqa: F401
    from PIL import Image  # noqa: F401

    _heif()


def _heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def decode(job: Job) -> Decoded:
    """In the worker: check, measure and copy one file."""
    signal.setitimer(signal.ITIMER_PROF, job.timeout_s)
    try:
        if job.content_type.startswith("video/"):
            return _video(job)
        return _image(job)
    except MemoryError:
        raise Refused("decode", "out of memory") from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _video(job: Job) -> Decoded:
    from stadspuls.media import credentials

    return Decoded(
        width=None,
        height=None,
        taken_at=None,
        lat=None,
        lon=None,
        phash=None,
        c2pa=credentials.summary(Path(job.path), job.content_type),
        stripped_suffix=None,
        had_exif=False,
    )


def _image(job: Job) -> Decoded:
    import imagehash
    from PIL import Image, ImageOps

    from stadspuls.media import credentials, exif

    Image.MAX_IMAGE_PIXELS = job.max_pixels
    expected = _FORMATS[job.content_type]
    if expected == "HEIF":
        _heif()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(job.path, formats=[expected])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise Refused("pixels", str(error)) from None
        except (OSError, SyntaxError, ValueError) as error:
            raise Refused("damaged", str(error)) from None
    with image:
        width, height = image.size
        if width * height > job.max_pixels:
            raise Refused("pixels", f"{width}x{height}")
        facts = exif.read(image)
        orientation = image.getexif().get(0x0112, 1) if facts.present else 1
        if image.format == "JPEG":
            # Decode at the smallest DCT scale still at least VIEW_PX: every byte of the
            # entropy-coded data is still read, so a truncated file is still found.
            # Pillow takes the scale both sides allow: ask for the copy's own proportions.
            ratio = VIEW_PX / max(width, height)
            image.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
        try:
            image.load()
        except MemoryError:
            raise Refused("pixels", "out of memory") from None
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise Refused("damaged", str(error)) from None
        upright = ImageOps.exif_transpose(image)
        pixels = _to_srgb(upright)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    pixels.thumbnail((VIEW_PX, VIEW_PX), Image.Resampling.LANCZOS)
    thumb = pixels.copy()
    thumb.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
    # From the thumbnail: phash looks at 32x32 pixels anyway, and the images of monitored posts
    # (derive=False) are hashed the same way, so the two compare alike.
    value = str(imagehash.phash(thumb))
    if not job.derive:
        return Decoded(
            width=width,
            height=height,
            taken_at=facts.taken_at,
            lat=facts.lat,
            lon=facts.lon,
            phash=value,
            c2pa=None,
            stripped_suffix=None,
            had_exif=facts.present,
        )
    suffix = _save_stripped(pixels, job.stripped_path)
    # Written aside and renamed: the same photo sent again may be served while it is redone,
    # and in a flood two workers may redo it at once, so each writes its own part file.
    part = f"{job.thumb_path}.{os.getpid()}.part"
    _flatten(thumb).save(part, "JPEG", quality=80, optimize=True)
    os.replace(part, job.thumb_path)
    return Decoded(
        width=width,
        height=height,
        taken_at=facts.taken_at,
        lat=facts.lat,
        lon=facts.lon,
        phash=value,
        c2pa=credentials.summary(Path(job.path), job.content_type),
        stripped_suffix=suffix,
        had_exif=facts.present,
    )


def _to_srgb(image: Any) -> Any:
    """Pixels only, in sRGB: an embedded ICC profile is applied, then dropped."""
    from PIL import Image, ImageCms

    icc = image.info.get("icc_profile")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    converted = image.convert("RGBA" if has_alpha else "RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            target = ImageCms.createProfile("sRGB")
            mode = converted.mode
            converted = ImageCms.profileToProfile(converted, source, target, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are
    # A fresh image: no info dict (EXIF, XMP, ICC, comments) travels with it.
    clean = Image.new(converted.mode, converted.size)
    clean.paste(converted)
    return clean


def _flatten(image: Any) -> Any:
    from PIL import Image

    if image.mode != "RGBA":
        return image
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


def _save_stripped(image: Any, stem: str) -> str:
    suffix, kind = (".png", "PNG") if image.mode == "RGBA" else (".jpg", "JPEG")
    options = {} if kind == "PNG" else {"quality": 88}
    part = f"{stem}{suffix}.{os.getpid()}.part"
    image.save(part, kind, **options)
    os.replace(part, stem + suffix)
    return suffix


def decode_failed(filename: str = "") -> MediaRejected:
    return MediaRejected(
        "decode",
        "Dit bestand kon niet veilig worden geopend (het duurde te lang of vroeg te veel "
        "geheugen).",
        "This file could not be opened safely (it took too long or needed too much memory).",
        filename=filename,
    )


class Decoder:
    """The pool of decoder processes of one intake."""

    def __init__(
        self, *, workers: int, memory_mb: int, timeout_s: float, margin_s: float = 5.0
    ) -> None:
        self.workers = workers
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        # Beyond the worker's own CPU timer, for a worker's start (imports) and a busy machine.
        self.margin_s = margin_s
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._in_flight = 0
        self.rebuilds = 0  # how often a pool broke (for tests and /health)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_start_worker,
                    initargs=(self.memory_mb,),
                )
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor, *, kill: bool) -> None:
        with self._lock:
            if self._pool is not pool:
                return  # another task already replaced it
            self._pool = None
            self.rebuilds += 1
        if kill:
            # A worker past the parent's deadline: the pool has no public way to stop it.
            processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
            for process in list(processes.values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        log.warning("a decoder process died or hung; the pool is rebuilt")

    async def run(self, job: Job, *, filename: str = "") -> Decoded:
        """Decode in a worker; `Refused` for a bad file, MediaRejected("decode") for a file
        that kills or hangs its worker (twice)."""
        for _attempt in range(2):
            pool, future, deadline = self._submit(job)
            if future is None:
                continue
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), deadline)
            except Exception as error:
                self._failed(pool, error, filename)
        raise decode_failed(filename)

    def run_blocking(self, job: Job, *, filename: str = "") -> Decoded:
        """`run` for a thread without an event loop (the consumer of monitored posts)."""
        for _attempt in range(2):
            pool, future, deadline = self._submit(job)
            if future is None:
                continue
            try:
                return future.result(timeout=deadline)
            except Exception as error:
                self._failed(pool, error, filename)
        raise decode_failed(filename)

    def _submit(self, job: Job) -> tuple[ProcessPoolExecutor, Future[Decoded] | None, float]:
        """Submit a file; with the seconds after which its worker counts as hung. The worker's
        own CPU timer comes first; this deadline is the backstop for a worker that ignores it
        (signals blocked in a library), and it includes the files queued before this one:
        after an incident hundreds wait their turn, and a queue is not a hang."""
        pool = self._current()
        with self._lock:
            ahead = self._in_flight
            self._in_flight += 1
        turns = ahead // self.workers + 1
        try:
            future = pool.submit(decode, job)
        except (BrokenProcessPool, RuntimeError):
            self._done()
            self._discard(pool, kill=False)
            return pool, None, 0.0
        future.add_done_callback(lambda _future: self._done())
        return pool, future, turns * job.timeout_s + self.margin_s

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _failed(self, pool: ProcessPoolExecutor, error: Exception, filename: str) -> None:
        """Returns to retry (the pool broke); raises otherwise."""
        if isinstance(error, BrokenProcessPool):
            self._discard(pool, kill=False)
            return
        if isinstance(error, TimeoutError):
            self._discard(pool, kill=True)
            raise decode_failed(filename) from None
        if isinstance(error, Refused):
            raise error
        # A failure of ours or of the imaging library, not a verdict on the file: logged in
        # full, refused as "could not be opened safely".
        log.error("decoding %r failed", filename, exc_info=error)
        raise decode_failed(filename) from None

    def worker_pids(self) -> list[int]:
        pool = self._pool
        processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
        return [pid for pid in processes if pid != os.getpid()]

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
