"""Office hours with Dutch public holidays (the `holidays` package), and service-level due times.
CONTRACT STUB: the admin helper implements it.
"""

from __future__ import annotations

from datetime import datetime

from stadspuls.cases.records import OfficeHours


def is_open(hours: OfficeHours, at: datetime) -> bool:
    """Whether the desk is open at UTC time `at` (holidays closed unless open_on_holidays)."""
    raise NotImplementedError


def next_opening(hours: OfficeHours, at: datetime) -> datetime | None:
    """The next moment (UTC) the desk opens after `at`; `at` itself when open; None: never."""
    raise NotImplementedError


def describe(hours: OfficeHours, lang: str) -> str:
    """The opening hours in words: "ma–vr 08:30–17:00; za 10:00–14:00; feestdagen gesloten"."""
    raise NotImplementedError


def due(start: datetime, hours_of_clock: float | None) -> datetime | None:
    """A service-level due time: `start` plus that many hours (None: no timer)."""
    raise NotImplementedError
