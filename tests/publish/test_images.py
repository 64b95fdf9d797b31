"""Images made small enough for a channel's limit."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from stadspuls.publish.images import fit_image, load_image
from stadspuls.publish.targets import SendError
from tests.publish.channel_support import jpeg, photo


def test_an_image_that_fits_goes_as_it_is() -> None:
    data = jpeg()
    assert fit_image(data, "image/jpeg", 1_000_000) == (data, "image/jpeg")


def test_a_large_png_with_transparency_becomes_a_jpeg_under_the_limit() -> None:
    rng = random.Random(3)
    image = Image.frombytes("RGBA", (900, 700), rng.randbytes(900 * 700 * 4))
    out = io.BytesIO()
    image.save(out, "PNG")
    assert out.tell() > 1_000_000
    data, content_type = fit_image(out.getvalue(), "image/png", 1_000_000)
    assert content_type == "image/jpeg"
    assert len(data) <= 1_000_000
    with Image.open(io.BytesIO(data)) as made:
        assert made.mode == "RGB"
        assert made.size[0] <= 900


def test_an_image_that_cannot_be_made_to_fit_or_read_is_refused_for_good() -> None:
    with pytest.raises(SendError) as unreadable:
        fit_image(b"\x00" * 2000, "image/jpeg", 1000)
    assert unreadable.value.permanent
    with pytest.raises(SendError) as too_small:
        fit_image(jpeg(400, 400, noise=True), "image/jpeg", 2000)
    assert too_small.value.permanent


def test_an_image_gone_from_the_vault_fails_for_good_and_an_unreadable_one_is_retried() -> None:
    item = photo("9" * 64)

    def gone(sha256: str) -> bytes:
        raise FileNotFoundError(sha256)

    def locked(sha256: str) -> bytes:
        raise PermissionError(13, "Permission denied", sha256)

    with pytest.raises(SendError) as missing:
        load_image(gone, item, "bluesky")
    assert missing.value.permanent
    assert "not in the media vault" in str(missing.value)
    with pytest.raises(SendError) as unreadable:
        load_image(locked, item, "mastodon")
    assert not unreadable.value.permanent
    assert load_image(lambda sha256: b"bytes", item, "mastodon") == b"bytes"
