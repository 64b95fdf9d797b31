"""A decoder process that dies or hangs takes one file down, never the intake: the pool is
rebuilt and the next file goes through."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from pathlib import Path

import pytest

from stadspuls.media.errors import MediaRejected
from tests.media.conftest import accept, make_intake
from tests.media.photos import chunks, jpeg, png, scene

BIG = jpeg(scene(20, (4000, 3000)), quality=95)
SMALL = jpeg(scene(21, (800, 600)))


def test_a_worker_killed_mid_decode_does_not_take_the_intake_down(tmp_path: Path) -> None:
    intake = make_intake(tmp_path, decode_workers=1)
    try:
        accept(intake, SMALL)  # the pool is up
        killed: list[int] = []

        async def scenario() -> None:
            task = asyncio.create_task(
                intake.accept(chunks(BIG), filename="groot.jpg", declared_type=None)
            )
            while not task.done() and not killed:
                await asyncio.sleep(0.002)
                # The file is in the worker once the tmp folder holds it and sniffing is done.
                if any(intake.vault.tmp.iterdir()):
                    for pid in intake.decoder.worker_pids():
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
            # The file that was decoding when its worker died is tried once more, in a new
            # pool: it was innocent, and is taken.
            taken = await task
            assert taken.width == 4000

        asyncio.run(scenario())
        assert killed
        assert intake.decoder.rebuilds == 1
        assert killed[0] not in intake.decoder.worker_pids()
        assert accept(intake, SMALL).width == 800
    finally:
        asyncio.run(intake.close())


def test_a_file_that_hangs_its_worker_is_refused_and_the_next_one_taken(tmp_path: Path) -> None:
    # A timeout shorter than any decode stands in for a file built to make the decoder spin.
    intake = make_intake(tmp_path, decode_workers=1, decode_timeout_s=0.001)
    try:
        started = time.monotonic()
        with pytest.raises(MediaRejected) as caught:
            accept(intake, BIG)
        assert caught.value.code == "decode"
        assert "veilig" in caught.value.nl
        assert time.monotonic() - started < 10
        # Killed by its CPU timer, once and again on the retry.
        assert intake.decoder.rebuilds == 2
        assert not list(intake.vault.originals.rglob("*.*"))

        intake.settings.decode_timeout_s = 20.0
        assert accept(intake, SMALL).width == 800
    finally:
        asyncio.run(intake.close())


def test_a_worker_has_a_memory_ceiling(tmp_path: Path) -> None:
    # With 512 MB of address space (about 150 MB of it the worker's own libraries) a
    # 40-megapixel photo cannot be decoded: the refusal is clean, not a dead server.
    intake = make_intake(tmp_path, decode_workers=1, decode_memory_mb=512, decode_timeout_s=3)
    try:
        accept(intake, SMALL)  # the worker is up
        # A worker out of memory may also hang without using CPU: then the parent's deadline
        # ends it, here after a second rather than five.
        intake.decoder.margin_s = 1.0
        with pytest.raises(MediaRejected) as caught:
            accept(intake, png(scene(22, (8000, 5000))), "groot.png")
        assert caught.value.code in ("pixels", "decode")
        assert accept(intake, SMALL).width == 800
    finally:
        asyncio.run(intake.close())


def test_a_flood_waits_its_turn_without_being_taken_for_hung_workers(tmp_path: Path) -> None:
    # One worker, a limit of a second per file, no margin: a flood of photos at once waits longer
    # than that for its turn, and none of them is a hang.
    intake = make_intake(tmp_path, decode_workers=1, decode_timeout_s=30.0)
    try:
        # The worker is up and has imported what decoding needs (not a file's time), and how
        # long one photo takes here is known: the flood is sized to queue for two seconds or more
        # on whatever machine runs this.
        accept(intake, SMALL)
        started = time.monotonic()
        for n in range(8):
            accept(intake, jpeg(scene(900 + n)))
        per_photo = (time.monotonic() - started) / 8
        count = min(600, max(60, math.ceil(2.0 / per_photo)))
        photos = [jpeg(scene(100 + n)) for n in range(count)]
        intake.settings = intake.settings.model_copy(update={"decode_timeout_s": 1.0})
        intake.decoder.margin_s = 0.0

        async def flood() -> float:
            started = time.monotonic()
            taken = await asyncio.gather(
                *(
                    intake.accept(chunks(data), filename=f"{n}.jpg", declared_type=None)
                    for n, data in enumerate(photos)
                )
            )
            assert len({one.sha256 for one in taken}) == count
            return time.monotonic() - started

        assert asyncio.run(flood()) > 1.0  # more than one file may take: they queued
        assert intake.decoder.rebuilds == 0
    finally:
        asyncio.run(intake.close())
