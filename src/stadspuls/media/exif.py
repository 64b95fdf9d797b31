"""Capture time and place from a photo's EXIF (read in the decoder process).

DateTimeOriginal is the camera's local clock; OffsetTimeOriginal (EXIF 2.31, written by phones
since about 2018) says its offset from UTC. Without an offset the time is taken as Dutch local
time (Europe/Amsterdam): the photos reach a Dutch organisation about Dutch incidents, and the
verification aid compares it in hours, so an hour off abroad does not mislead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image

LOCAL = ZoneInfo("Europe/Amsterdam")
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 36867
_DATETIME_DIGITIZED = 36868
_OFFSET_TIME_ORIGINAL = 36881
_OFFSET_TIME = 36880
_DATETIME = 306
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


@dataclass(frozen=True)
class ExifFacts:
    taken_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    present: bool = False  # whether the file had any EXIF at all


def read(image: Image.Image) -> ExifFacts:
    try:
        exif = image.getexif()
    except (OSError, ValueError, SyntaxError):
        return ExifFacts()
    if not exif:
        return ExifFacts()
    try:
        details = exif.get_ifd(_EXIF_IFD)
        gps = exif.get_ifd(_GPS_IFD)
    except (OSError, ValueError, KeyError, TypeError):
        details, gps = {}, {}
    taken = _taken_at(
        details.get(_DATETIME_ORIGINAL) or details.get(_DATETIME_DIGITIZED) or exif.get(_DATETIME),
        details.get(_OFFSET_TIME_ORIGINAL) or details.get(_OFFSET_TIME),
    )
    lat, lon = _position(gps)
    return ExifFacts(taken_at=taken, lat=lat, lon=lon, present=True)


def _taken_at(value: Any, offset: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        local = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone: timezone | ZoneInfo = LOCAL
    if isinstance(offset, str):
        found = _OFFSET.match(offset.strip("\x00 "))
        if found:
            sign = -1 if found.group(1) == "-" else 1
            zone = timezone(
                sign * timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))
            )
    return local.replace(tzinfo=zone).astimezone(UTC)


def _position(gps: Any) -> tuple[float | None, float | None]:
    try:
        lat = _degrees(gps.get(2), gps.get(1), "S")
        lon = _degrees(gps.get(4), gps.get(3), "W")
    except (TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None, None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    # (0, 0) is what some apps write for "no fix".
    if lat == 0 and lon == 0:
        return None, None
    return lat, lon


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    if value is None or len(value) != 3:
        return None
    degrees, minutes, seconds = (float(part) for part in value)
    result = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(result):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative:
        result = -result
    return round(result, 7)
