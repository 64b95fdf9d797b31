"""Retention of volunteers' data (VolunteerSettings): registrations never confirmed go after
`unconfirmed_hours`; a volunteer not heard of (no change, no visit of their own page, no answer)
for `inactive_days` is mailed a reminder and deleted `REMINDER_GRACE_DAYS` later unless they
come back; call-outs, with their targets, events and notifications, go `callout_days` after they
ended."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from stadspuls.settings import VolunteerSettings
from stadspuls.store import volunteers as store

if TYPE_CHECKING:
    from stadspuls.volunteers.registry import VolunteerService

REMINDER_GRACE_DAYS = 30


def purge(
    service: VolunteerService,
    engine: sa.Engine,
    config: VolunteerSettings,
    now: datetime,
    *,
    base_url: str,
) -> dict[str, int]:
    counts = {"unconfirmed": 0, "reminded": 0, "inactive": 0, "callouts": 0}
    with engine.begin() as conn:
        stale = store.stale_unconfirmed(conn, now - timedelta(hours=config.unconfirmed_hours))
        counts["unconfirmed"] = store.delete(conn, stale)
        counts["callouts"] = store.delete_ended_callouts(
            conn, now - timedelta(days=config.callout_days)
        )
    grace = timedelta(days=REMINDER_GRACE_DAYS)
    with engine.begin() as conn:
        inactive = store.inactive(conn, now - timedelta(days=config.inactive_days))
    for volunteer_id in inactive:
        with engine.begin() as conn:
            row = store.row(conn, volunteer_id)
            if row is None:
                continue
            reminded_at = service._reminded_at(row)
            updated_at = store.volunteer(row).updated_at
            asked = reminded_at is not None and updated_at is not None and reminded_at > updated_at
            if asked and reminded_at is not None and now - reminded_at >= grace:
                counts["inactive"] += store.delete(conn, [volunteer_id])
            elif not asked and service._remind(conn, row, now, base_url.rstrip("/")):
                counts["reminded"] += 1
    return counts
