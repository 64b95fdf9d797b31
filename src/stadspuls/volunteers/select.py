"""Selecting the nearest eligible volunteers for a point: through the blind cell index (keyed
hashes of grid cells, nearest rings first), the sealed points opened only for candidates.
CONTRACT STUB: the owning helper replaces the NotImplementedError."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa

from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.volunteers.records import Selection


class Selector:
    def __init__(
        self, engine: sa.Engine, settings: Settings, *, sealer: Sealer, index_key: bytes
    ) -> None:
        raise NotImplementedError

    def select(
        self,
        *,
        lat: float,
        lon: float,
        radius_km: float,
        skills: tuple[str, ...],
        wanted: int,
        at: datetime,
        exclude: Collection[int] = (),
    ) -> Selection:
        """Active volunteers within `radius_km` of the point whose own radius covers it, with
        every skill, available at `at` (their weekly hours, Europe/Amsterdam), called fewer
        than `max_calls_per_day` times in the 24 hours before `at`, not in `exclude`; the
        `wanted` nearest, nearest first."""
        raise NotImplementedError
