"""Selecting the nearest eligible volunteers for a point: through the blind cell index (keyed
hashes of grid cells, nearest rings first, `cells.scan`), the sealed points opened only for
candidates that pass every check the row itself allows (state, skills, hours, own radius against
the ring's lower bound), then the exact great-circle distance (`cases.places.distance_km`).

The scan stops when every row not yet read is further than the call-out's radius, or further
than the `wanted`-th nearest eligible volunteer found so far: the result is the same as checking
every volunteer (tests/volunteers/test_select.py compares it with such an oracle).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa

from stadspuls.cases.places import distance_km
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.store import volunteers as store
from stadspuls.volunteers.cells import CellIndex, scan
from stadspuls.volunteers.records import Candidate, Selection, VolunteerPrivate, WeeklySpan

LOCAL = ZoneInfo("Europe/Amsterdam")
_decode_private = msgspec.json.Decoder(VolunteerPrivate).decode


def available(spans: tuple[WeeklySpan, ...], at: datetime) -> bool:
    """Whether weekly hours (local time) include `at`; no hours at all: any time."""
    if not spans:
        return True
    local = at.astimezone(LOCAL)
    day, now = local.weekday(), local.time().replace(tzinfo=None)
    for span in spans:
        if span.start < span.end:
            if span.weekday == day and span.start <= now < span.end:
                return True
        elif (span.weekday == day and now >= span.start) or (
            span.weekday == (day - 1) % 7 and now < span.end
        ):
            return True  # a span past midnight: its evening and the next day's morning
    return False


class Selector:
    def __init__(
        self, engine: sa.Engine, settings: Settings, *, sealer: Sealer, index_key: bytes
    ) -> None:
        self._engine = engine
        self._config = settings.volunteers
        self._sealer = sealer
        self._cells = CellIndex(index_key)
        self._spans: dict[str, tuple[WeeklySpan, ...]] = {"[]": ()}

    def _hours(self, text: str) -> tuple[WeeklySpan, ...]:
        spans = self._spans.get(text)
        if spans is None:
            spans = store.decode_spans(text)
            if len(self._spans) < 10_000:
                self._spans[text] = spans
        return spans

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
        needed = store.skill_bits(skills)
        excluded: Counter[str] = Counter()
        skip = set(exclude)
        seen: set[int] = set()
        since = at - timedelta(hours=24)
        limit = self._config.max_calls_per_day
        # (-distance, -id) max-heap of the best `wanted` eligible so far.
        best: list[tuple[float, int, Candidate]] = []
        considered = 0
        if wanted <= 0:
            return Selection(candidates=(), considered=0, excluded={})
        with self._engine.connect() as conn:
            # Rows first read in a step lie outside everything read before: at least this far.
            nearest_unread = 0.0
            for step in scan(self._cells, lat, lon, radius_km):
                fresh = []
                for row in store.candidates(conn, step.column, step.hashes):
                    vid = int(row.id)
                    if vid in seen:
                        continue
                    seen.add(vid)
                    reason = self._precheck(row, vid, skip, needed, at)
                    if not reason and row.radius_km < nearest_unread:
                        reason = "own_radius"  # known without opening the point
                    if reason:
                        excluded[reason] += 1
                        continue
                    fresh.append(row)
                considered = len(seen)
                near: list[tuple[float, sa.Row[Any]]] = []
                for row in fresh:
                    vid = int(row.id)
                    private = _decode_private(self._sealer.open(row.sealed, f"volunteer:{vid}"))
                    km = distance_km(lat, lon, private.lat, private.lon)
                    if km > radius_km:
                        excluded["too_far"] += 1
                    elif km > row.radius_km:
                        excluded["own_radius"] += 1
                    else:
                        near.append((km, row))
                # The daily limit last: one read of the call-out history for those still in.
                calls = store.calls_since(conn, [int(r.id) for _, r in near], since)
                for km, row in near:
                    vid = int(row.id)
                    if calls.get(vid, 0) >= limit:
                        excluded["daily_limit"] += 1
                        continue
                    candidate = Candidate(
                        volunteer_id=vid,
                        distance_m=round(km * 1000),
                        skills=store.skill_names(int(row.skills)),
                        radius_km=float(row.radius_km),
                    )
                    item = (-km, -vid, candidate)
                    if len(best) < wanted:
                        heapq.heappush(best, item)
                    elif item > best[0]:
                        heapq.heapreplace(best, item)
                if len(best) >= wanted and -best[0][0] <= step.bound_km:
                    break
                nearest_unread = step.bound_km
        ranked = [c for _, _, c in sorted(best, key=lambda i: (-i[0], -i[1]))]
        return Selection(candidates=tuple(ranked), considered=considered, excluded=dict(excluded))

    def _precheck(
        self, row: sa.Row[Any], vid: int, skip: set[int], needed: int, at: datetime
    ) -> str:
        """The reason the row alone rules a volunteer out, or ""."""
        if row.state != "active":
            return "paused" if row.state == "paused" else "pending"
        if vid in skip:
            return "already_selected"
        if int(row.skills) & needed != needed:
            return "skills"
        if not available(self._hours(row.availability), at):
            return "hours"
        return ""
