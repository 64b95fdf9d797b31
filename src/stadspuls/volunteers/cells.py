"""The blind cell index: where a volunteer lives, findable without being readable.

The Netherlands is cut into a grid of about 1 × 1 km (`FINE_LAT` × `FINE_LON` degrees) and a
coarse grid of 8 × 8 fine cells. A volunteer's row keeps the keyed hash (HMAC-SHA-256 under the
index key, 128 bits) of the fine and of the coarse cell around their home point, never the point
itself (that is sealed). The selection hashes the cells around a call-out's point, ring by ring,
nearest first, and reads only the rows with those hashes; without the key a hash says nothing
about where the cell is (rows in the same cell do share a hash: the index shows that some
volunteers live close together, not where).

`Scan` plans the reads: the fine block of rings 0-1, then each fine ring up to `FINE_RINGS`, then
coarse rings; after each read it knows a lower bound on the distance of every row not yet read.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterator
from dataclasses import dataclass

FINE_LAT = 0.009  # degrees: 1.0 km
FINE_LON = 0.0146  # degrees: 1.0 km at 52° N
COARSE = 8  # fine cells per coarse cell, each way
FINE_RINGS = 6  # fine rings read before switching to coarse rings
KM_PER_DEGREE = 6371.0 * math.pi / 180  # along a meridian (the haversine's Earth)
# The lower bounds use the narrowest longitude degree of the Netherlands (Rottumeroog, 53.6° N)
# with a margin for the great circle's curve.
_KM_PER_LON_DEGREE = KM_PER_DEGREE * math.cos(math.radians(54.0)) * 0.995


def fine_cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / FINE_LAT), math.floor(lon / FINE_LON)


def coarse_of(cell: tuple[int, int]) -> tuple[int, int]:
    return cell[0] // COARSE, cell[1] // COARSE


class CellIndex:
    """Keyed hashes of cells (the key is the volunteers' index key)."""

    def __init__(self, index_key: bytes) -> None:
        self._key = hmac.new(index_key, b"stadspuls volunteer cells", hashlib.sha256).digest()

    def hash(self, level: str, cell: tuple[int, int]) -> str:
        message = f"{level}:{cell[0]}:{cell[1]}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def of_point(self, lat: float, lon: float) -> tuple[str, str]:
        """The (fine, coarse) hashes a volunteer's row keeps."""
        fine = fine_cell(lat, lon)
        return self.hash("f", fine), self.hash("c", coarse_of(fine))


@dataclass(frozen=True)
class Step:
    column: str  # "cell" or "cell_coarse"
    hashes: tuple[str, ...]
    bound_km: float  # every row not read yet (after this step) is at least this far


def _ring(ci: int, cj: int, k: int) -> list[tuple[int, int]]:
    if k == 0:
        return [(ci, cj)]
    cells = [(ci - k, cj + d) for d in range(-k, k + 1)]
    cells += [(ci + k, cj + d) for d in range(-k, k + 1)]
    cells += [(ci + d, cj - k) for d in range(-k + 1, k)]
    cells += [(ci + d, cj + k) for d in range(-k + 1, k)]
    return cells


def _bound(lat: float, lon: float, box: tuple[float, float, float, float]) -> float:
    """How far the point is from the edge of the box (lat0, lon0, lat1, lon1) it lies in."""
    lat0, lon0, lat1, lon1 = box
    north_south = min(lat - lat0, lat1 - lat) * KM_PER_DEGREE
    east_west = min(lon - lon0, lon1 - lon) * _KM_PER_LON_DEGREE
    return max(0.0, min(north_south, east_west))


def scan(index: CellIndex, lat: float, lon: float, max_km: float) -> Iterator[Step]:
    """The reads around a point, nearest first, until every row within `max_km` was read."""
    ci, cj = fine_cell(lat, lon)
    for k in range(1, FINE_RINGS + 1):
        cells = [c for r in range(k + 1) for c in _ring(ci, cj, r)] if k == 1 else _ring(ci, cj, k)
        box = (
            (ci - k) * FINE_LAT,
            (cj - k) * FINE_LON,
            (ci + k + 1) * FINE_LAT,
            (cj + k + 1) * FINE_LON,
        )
        bound = _bound(lat, lon, box)
        yield Step("cell", tuple(index.hash("f", c) for c in cells), bound)
        if bound >= max_km:
            return
    # Coarse rings: the first block re-reads the fine block's rows (the caller skips them).
    bi, bj = coarse_of((ci, cj))
    size_lat, size_lon = COARSE * FINE_LAT, COARSE * FINE_LON
    for m in range(1, 64):
        cells = [c for r in range(m + 1) for c in _ring(bi, bj, r)] if m == 1 else _ring(bi, bj, m)
        box = (
            (bi - m) * size_lat,
            (bj - m) * size_lon,
            (bi + m + 1) * size_lat,
            (bj + m + 1) * size_lon,
        )
        bound = _bound(lat, lon, box)
        yield Step("cell_coarse", tuple(index.hash("c", c) for c in cells), bound)
        if bound >= max_km:
            return
