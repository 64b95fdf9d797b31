"""The intake takes photos and videos by their content, keeps originals byte for byte, and
refuses every bad input of the issue with a clear message while the next good file still goes
through."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import stat
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from PIL import Image

from stadspuls.media.errors import MediaRejected
from stadspuls.media.intake import MediaIntake
from tests.media.conftest import accept
from tests.media.photos import bomb_png, exif_of, jpeg, mp4_head, png, scene

GOOD = jpeg(scene(1), taken="2026:05:12 14:03:00", offset="+02:00", gps=(52.0907, 5.1214))


def _refused(
    intake: MediaIntake, data: bytes, filename: str, declared: str | None = None
) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        accept(intake, data, filename, declared)
    # Whatever was refused, the next good photo is taken.
    assert accept(intake, GOOD).content_type == "image/jpeg"
    assert not list(intake.vault.tmp.iterdir()), "a refused upload left its temporary file"
    return caught.value


def test_a_photo_is_kept_byte_for_byte_with_its_facts(intake: MediaIntake) -> None:
    taken = accept(intake, GOOD, "IMG_0042.JPG", "image/jpeg")

    assert taken.sha256 == hashlib.sha256(GOOD).hexdigest()
    assert taken.size == len(GOOD)
    assert (taken.width, taken.height) == (1600, 1200)
    original = intake.vault.path_of(taken.sha256)
    assert original.read_bytes() == GOOD
    assert stat.S_IMODE(original.stat().st_mode) == 0o440
    assert taken.filename == "IMG_0042.JPG"
    # 14:03 at +02:00 (summer time) is 12:03 UTC.
    assert taken.taken_at == datetime(2026, 5, 12, 12, 3, tzinfo=UTC)
    assert taken.lat == pytest.approx(52.0907, abs=1e-4)
    assert taken.lon == pytest.approx(5.1214, abs=1e-4)
    assert taken.phash is not None
    assert len(taken.phash) == 16
    assert taken.c2pa is None  # Pillow's files carry no content credentials


def test_a_time_without_offset_is_dutch_local_time(intake: MediaIntake) -> None:
    winter = accept(intake, jpeg(scene(2), taken="2026:01:15 09:30:00"))
    assert winter.taken_at == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)


def test_the_copies_staff_see_carry_no_metadata(intake: MediaIntake) -> None:
    secret = b"Stadspuls-comment-with-a-name"
    data = jpeg(scene(3), taken="2026:05:12 14:03:00", gps=(52.1, 5.1), comment=secret)
    taken = accept(intake, data)
    assert exif_of(data)  # the original has EXIF, and keeps it

    for path in (intake.vault.thumb_of(taken.sha256), intake.vault.stripped_of(taken.sha256)):
        assert path is not None
        raw = path.read_bytes()
        assert exif_of(raw) == {}
        assert b"Exif" not in raw
        assert secret not in raw
        assert b"Stadspuls Test Camera" not in raw
        with Image.open(path) as copy:
            assert "icc_profile" not in copy.info
    assert intake.vault.path_of(taken.sha256).read_bytes() == data


def test_the_stripped_copy_is_turned_upright(intake: MediaIntake) -> None:
    # Orientation 6: the camera was held upright, the pixels lie on their side.
    taken = accept(intake, jpeg(scene(4, (800, 600)), orientation=6))
    assert (taken.width, taken.height) == (600, 800)
    stripped = intake.vault.stripped_of(taken.sha256)
    assert stripped is not None
    with Image.open(stripped) as copy:
        assert copy.size == (600, 800)
    thumb = intake.vault.thumb_of(taken.sha256)
    assert thumb is not None
    with Image.open(thumb) as small:
        assert max(small.size) == 320


def test_the_same_photo_twice_keeps_the_first_file(intake: MediaIntake) -> None:
    first = accept(intake, GOOD)
    original = intake.vault.path_of(first.sha256)
    inode = original.stat().st_ino
    second = accept(intake, GOOD)
    assert second.sha256 == first.sha256
    assert original.stat().st_ino == inode
    assert original.read_bytes() == GOOD


def test_a_png_named_jpg_is_taken_as_the_png_it_is(intake: MediaIntake) -> None:
    data = png(scene(5, (640, 480)))
    taken = accept(intake, data, "vakantie.jpg", "image/jpeg")
    assert taken.content_type == "image/png"
    assert taken.filename == "vakantie.jpg"  # shown, never trusted
    assert intake.vault.path_of(taken.sha256).read_bytes() == data


def test_webp_and_the_first_frame_of_a_gif_are_taken(intake: MediaIntake) -> None:
    out = io.BytesIO()
    scene(6, (400, 300)).save(out, "WEBP")
    assert accept(intake, out.getvalue(), "a.webp").content_type == "image/webp"
    frames = [scene(seed, (200, 150)).convert("P") for seed in (7, 8)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    gif = accept(intake, out.getvalue(), "a.gif")
    assert gif.content_type == "image/gif"
    assert (gif.width, gif.height) == (200, 150)


def test_a_video_is_taken_by_its_container_without_decoding(intake: MediaIntake) -> None:
    taken = accept(intake, mp4_head(), "clip.mov", "video/quicktime")
    assert taken.content_type == "video/mp4"
    assert taken.phash is None
    assert taken.width is None
    assert intake.vault.thumb_of(taken.sha256) is None


def test_a_truncated_jpeg_is_refused_as_damaged(intake: MediaIntake) -> None:
    data = jpeg(scene(9))
    refused = _refused(intake, data[: len(data) * 2 // 3], "half.jpg", "image/jpeg")
    assert refused.code == "damaged"
    assert "beschadigd" in refused.nl
    assert "damaged" in refused.en
    assert refused.filename == "half.jpg"


def test_an_html_file_is_refused_by_name(intake: MediaIntake) -> None:
    page = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    refused = _refused(intake, page, "foto.jpg", "image/jpeg")
    assert refused.code == "type"
    assert refused.nl == "Dit bestand is geen foto of video (het is HTML)."
    assert refused.en == "This file is not a photo or video (it is HTML)."


def test_an_svg_with_a_script_is_refused(intake: MediaIntake) -> None:
    svg = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>fetch('/api/cases')</script><rect width='10' height='10'/></svg>"
    )
    refused = _refused(intake, svg, "kaart.svg", "image/svg+xml")
    assert refused.code == "type"
    assert "SVG" in refused.nl
    assert "SVG" in refused.en


def test_a_zip_bomb_is_refused_as_a_zip_without_opening_it(intake: MediaIntake) -> None:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("foto.jpg", "w", force_zip64=True) as member,
    ):
        zeros = bytes(1024 * 1024)
        for _ in range(256):  # 256 MB inside, a few hundred KB outside
            member.write(zeros)
    data = out.getvalue()
    assert len(data) < 2 * 1024 * 1024
    refused = _refused(intake, data, "fotos.zip", "application/zip")
    assert refused.code == "type"
    assert "zip" in refused.nl


def test_a_decompression_bomb_png_is_refused_before_decoding(intake: MediaIntake) -> None:
    data = bomb_png()
    assert len(data) < 1024 * 1024
    refused = _refused(intake, data, "bom.png", "image/png")
    assert refused.code == "pixels"
    assert "beeldpunten" in refused.nl


def test_a_200_mb_upload_is_cut_off_at_the_cap_without_reading_the_rest(
    intake: MediaIntake,
) -> None:
    megabyte = bytes(1024 * 1024)
    sent = 0

    async def upload() -> AsyncIterator[bytes]:
        nonlocal sent
        yield GOOD[:4096]  # looks like a JPEG
        for _ in range(200):
            sent += 1
            yield megabyte

    with pytest.raises(MediaRejected) as caught:
        asyncio.run(intake.accept(upload(), filename="groot.jpg", declared_type="image/jpeg"))
    assert caught.value.code == "size"
    assert "25 MB" in caught.value.nl
    # Reading stopped just past the cap of 25 MB: the other 175 MB were never taken in.
    assert sent == 25
    assert not list(intake.vault.tmp.iterdir())
    assert accept(intake, GOOD).size == len(GOOD)


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (b"MZ\x90\x00\x03" + bytes(200), "Windows"),
        (b"\x7fELF\x02\x01\x01" + bytes(200), "Linux"),
        (b"", "leeg"),
        (b"gewoon wat tekst\n", "tekst"),
    ],
)
def test_other_kinds_are_refused_by_name(intake: MediaIntake, data: bytes, label: str) -> None:
    refused = _refused(intake, data, "foto.jpg", "image/jpeg")
    assert refused.code == "type"
    assert label in refused.nl


def test_too_many_files_are_refused(intake: MediaIntake) -> None:
    intake.check_count(intake.settings.max_files)
    with pytest.raises(MediaRejected) as caught:
        intake.check_count(intake.settings.max_files + 1)
    assert caught.value.code == "count"
    assert str(intake.settings.max_files) in caught.value.nl


def test_nothing_of_a_refused_file_stays_in_the_vault(intake: MediaIntake) -> None:
    before = {path.name for path in intake.vault.originals.rglob("*") if path.is_file()}
    data = jpeg(scene(10))
    with pytest.raises(MediaRejected):
        accept(intake, data[:5000])
    after = {path.name for path in intake.vault.originals.rglob("*") if path.is_file()}
    assert after == before
    assert os.listdir(intake.vault.tmp) == []


def test_html_hidden_behind_a_jpeg_never_reaches_a_copy(intake: MediaIntake) -> None:
    # A polyglot: a real JPEG with a page after its end. Pillow stops at the end of the image,
    # so it is taken as the photo it also is; the copies are re-encoded pixels, and the
    # original is only ever sent as image/jpeg with nosniff (tests/media/test_routes.py).
    script = b"<html><script>alert(document.cookie)</script></html>"
    taken = accept(intake, jpeg(scene(11, (640, 480))) + script, "foto.jpg")
    assert taken.content_type == "image/jpeg"
    for path in (intake.vault.thumb_of(taken.sha256), intake.vault.stripped_of(taken.sha256)):
        assert path is not None
        assert b"<script" not in path.read_bytes()
    assert intake.vault.path_of(taken.sha256).read_bytes().endswith(script)


def test_a_large_photo_is_decoded_at_reduced_scale_and_still_checked_whole(
    intake: MediaIntake,
) -> None:
    data = jpeg(scene(12, (4000, 3000)), quality=85)
    taken = accept(intake, data)
    assert (taken.width, taken.height) == (4000, 3000)  # the original's size
    stripped = intake.vault.stripped_of(taken.sha256)
    assert stripped is not None
    with Image.open(stripped) as copy:
        assert copy.size == (1600, 1200)
    # Draft mode scales the DCT, it does not skip data: a cut file is still found out.
    refused = _refused(intake, data[: len(data) * 9 // 10], "groot.jpg")
    assert refused.code == "damaged"
