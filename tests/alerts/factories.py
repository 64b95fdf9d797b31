"""Monitors and signals for the alert tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from stadspuls.records import Monitor, Signal
from stadspuls.store.monitors import insert_monitor
from tests.factories import T0


def add_monitor(engine: sa.Engine, name: str = "stratumseind", **fields: Any) -> int:
    monitor = Monitor(
        name=name,
        query="stratumseind",
        owner="analyst",
        purpose="night-life safety",
        legal_basis="public-task",
        retention_days=30,
        **fields,
    )
    saved = insert_monitor(engine, monitor)
    assert saved.id is not None
    return saved.id


def signal(monitor_id: int, minutes: float = 0, **fields: Any) -> Signal:
    at: datetime = fields.pop("at", T0 + timedelta(minutes=minutes))
    values: dict[str, Any] = {
        "monitor_id": monitor_id,
        "detector": "burst",
        "at": at,
        "started_at": at - timedelta(minutes=10),
        "observed": 12.0,
        "expected": 1.5,
        "summary": "12 posts in 10 min, 1.5 expected",
        "top_terms": ("vechtpartij", "politie"),
        "top_places": ("Eindhoven",),
        "post_ids": ("bluesky:3f9c01", "bluesky:3f9c02"),
    }
    values.update(fields)
    return Signal(**values)
