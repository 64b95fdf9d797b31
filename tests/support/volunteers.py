"""Confirmed volunteers in bulk, straight into the store (tests and bench/callout.py): the rows
the register would write (sealed private part, blind cells, keyed e-mail hash), without the
e-mail round trip. Never for production: a real volunteer confirms their address."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa

from stadspuls.sealed import Sealer
from stadspuls.store.rows import to_us
from stadspuls.store.schema import volunteers
from stadspuls.store.volunteers import encode_spans, skill_bits
from stadspuls.volunteers.cells import CellIndex
from stadspuls.volunteers.records import VolunteerPrivate, WeeklySpan

_encode = msgspec.json.Encoder().encode
_CHUNK = 5_000


@dataclass(frozen=True)
class Seed:
    lat: float
    lon: float
    radius_km: float = 5.0
    skills: tuple[str, ...] = ()
    availability: tuple[WeeklySpan, ...] = ()
    state: str = "active"


def add_volunteers(
    engine: sa.Engine, sealer: Sealer, index_key: bytes, seeds: Sequence[Seed]
) -> list[int]:
    """Store the seeds as volunteers; their ids, in order."""
    cells = CellIndex(index_key)
    now = to_us(datetime.now(UTC))
    ids: list[int] = []
    insert = volunteers.insert().returning(volunteers.c.id, sort_by_parameter_order=True)
    seal = (
        volunteers.update()
        .where(volunteers.c.id == sa.bindparam("vid"))
        .values(sealed=sa.bindparam("s"), cell=sa.bindparam("c"), cell_coarse=sa.bindparam("cc"))
    )
    for start in range(0, len(seeds), _CHUNK):
        chunk = seeds[start : start + _CHUNK]
        with engine.begin() as conn:
            rows = [
                {
                    "email_hash": os.urandom(32).hex(),
                    "sealed": "",
                    "cell": "",
                    "cell_coarse": "",
                    "radius_km": seed.radius_km,
                    "skills": skill_bits(seed.skills),
                    "availability": encode_spans(seed.availability),
                    "channels": '["email"]',
                    "lang": "nl",
                    "state": seed.state,
                    "consent_version": "test",
                    "consent_us": now,
                    "created_us": now,
                    "verified_us": now,
                    "updated_us": now,
                }
                for seed in chunk
            ]
            new = [int(v) for v in conn.execute(insert, rows).scalars()]
            updates = []
            for vid, seed in zip(new, chunk, strict=True):
                private = VolunteerPrivate(
                    name=f"Vrijwilliger {vid}", email=f"v{vid}@example.org", lat=seed.lat,
                    lon=seed.lon,
                )  # fmt: skip
                cell, coarse = cells.of_point(seed.lat, seed.lon)
                sealed = sealer.seal(_encode(private).decode(), f"volunteer:{vid}")
                updates.append({"vid": vid, "s": sealed, "c": cell, "cc": coarse})
            conn.execute(seal, updates)
            ids.extend(new)
    return ids
