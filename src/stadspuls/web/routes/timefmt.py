"""Times as the operator reads them: stored in UTC, shown in Dutch time (where the control room
is), in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

LOCAL = ZoneInfo("Europe/Amsterdam")


def when(moment: datetime | None, lang: str, *, now: datetime | None = None) -> str:
    """`03:12` today, `29 nov. 03:12` otherwise; "" for no time."""
    if moment is None:
        return ""
    local = moment.astimezone(LOCAL)
    today = (now or datetime.now(UTC)).astimezone(LOCAL).date()
    pattern = "HH:mm" if local.date() == today else "d MMM HH:mm"
    return format_datetime(local, pattern, tzinfo=LOCAL, locale=lang)
