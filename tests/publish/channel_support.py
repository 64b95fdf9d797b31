"""Shared pieces of the publishing channel tests: images, publications, deliveries (not a
conftest: the service tests have their own)."""

from __future__ import annotations

import io
import random

from PIL import Image

from stadspuls.publish.records import Delivery, MediaItem, Publication


def jpeg(width: int = 64, height: int = 48, *, noise: bool = False, seed: int = 1) -> bytes:
    """A real JPEG; with `noise` one that compresses badly (large, like a photo)."""
    if noise:
        rng = random.Random(seed)
        image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (200, 40, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def vault(images: dict[str, bytes]):  # type: ignore[no-untyped-def]
    def load(sha256: str) -> bytes:
        return images[sha256]

    return load


def photo(sha256: str, alt: str = "Rook boven de Kerkstraat") -> MediaItem:
    return MediaItem(sha256=sha256, content_type="image/jpeg", alt=alt)


def item(body: str, **fields: object) -> Publication:
    values: dict[str, object] = {
        "id": 12,
        "title": "Brand in de Kerkstraat",
        "body": body,
        "targets": ("news", "mastodon", "bluesky"),
        "state": "approved",
        "slug": "brand-in-de-kerkstraat",
    }
    values.update(fields)
    return Publication(**values)  # type: ignore[arg-type]


def delivery(delivery_id: int = 31, target: str = "mastodon") -> Delivery:
    return Delivery(id=delivery_id, publication_id=12, target=target, state="pending")
