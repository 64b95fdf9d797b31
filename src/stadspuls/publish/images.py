"""An image made small enough for a channel: Bluesky takes blobs of at most 1,000,000 bytes,
Mastodon images of up to 16 MB. One that is larger is re-encoded as JPEG, first at lower
quality, then smaller, until it fits; one that already fits goes as it is (re-encoding costs
quality and the servers strip metadata themselves)."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from stadspuls.publish.records import MediaItem
from stadspuls.publish.targets import MediaLoader, SendError

QUALITIES = (85, 75, 65)
SHRINK = 0.75  # each further round: three quarters of the width and height
MIN_SIDE = 320  # pixels: smaller is no longer worth showing


def load_image(media: MediaLoader, item: MediaItem, channel: str) -> bytes:
    """The image's bytes from the media vault. One that is gone (or never was) fails for good:
    no retry brings it back; a vault that cannot be read now (a disk, a mount) is retried."""
    try:
        return media(item.sha256)
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise SendError(
            f"{channel}: image {item.sha256[:12]}… is not in the media vault", permanent=True
        ) from error
    except OSError as error:
        raise SendError(f"{channel}: image {item.sha256[:12]}… cannot be read: {error}") from error


def fit_image(data: bytes, content_type: str, max_bytes: int) -> tuple[bytes, str]:
    """`data` as is when it fits in `max_bytes`, else a JPEG that does. Raises SendError
    (permanent) for an image that cannot be read or made to fit."""
    if len(data) <= max_bytes:
        return data, content_type
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise SendError(
            f"the image cannot be read to make it smaller: {error}", permanent=True
        ) from error
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    while True:
        for quality in QUALITIES:
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue(), "image/jpeg"
        width, height = image.size
        if min(width, height) * SHRINK < MIN_SIDE:
            raise SendError(
                f"the image does not fit in {max_bytes} bytes even at {width}x{height}",
                permanent=True,
            )
        image = image.resize((int(width * SHRINK), int(height * SHRINK)), Image.Resampling.LANCZOS)
