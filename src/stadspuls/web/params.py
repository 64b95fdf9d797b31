"""Query and path parameters as the API promises them: every number bounded, every time with a
zone, no text a database cannot hold. FastAPI checks them before a route runs (422), and the
OpenAPI schema says the same, so a client can know the bounds without trying them."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Path, Query
from pydantic import AwareDatetime, StringConstraints

from stadspuls.web.schemas import NO_NUL, AlertState

INT64_MAX = 2**63 - 1  # ids are BIGINT on both databases
# Deep offsets cost a walk over every skipped post; past this, page with `until` instead.
MAX_OFFSET = 1_000_000
MAX_LIMIT = 1000
BUCKETS = {"minute": 60, "hour": 3600, "day": 86400}
MAX_BUCKET_SECONDS = 366 * 86400  # a year: wider buckets say nothing a total would not

_TIME = (
    " (ISO 8601 with a time zone, e.g. 2026-11-23T10:00:00Z or 2026-11-23T11:00:00+01:00;"
    " a time without a zone is refused with 422, it would be ambiguous)"
)

MonitorId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The monitor's id")]
Since = Annotated[
    AwareDatetime | None, Query(description="Only posts created at or after this moment" + _TIME)
]
Until = Annotated[
    AwareDatetime | None, Query(description="Only posts created before this moment" + _TIME)
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Posts per page")]
Offset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        description=f"Posts to skip (at most {MAX_OFFSET:,}; page further with `until`)",
    ),
]
MAX_SOURCES = 100  # far more sources than exist; each is one bound SQL parameter
Sources = Annotated[
    list[Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)]] | None,
    Query(
        max_length=MAX_SOURCES,
        description=f"Sources, e.g. bluesky (repeat for several, at most {MAX_SOURCES})",
    ),
]
Lang = Annotated[
    str | None, Query(max_length=8, pattern=NO_NUL, description="ISO 639-1 language code")
]
Bucket = Annotated[
    str,
    Query(
        pattern=r"^(minute|hour|day|[0-9]{1,9})$",
        description=(
            f"minute, hour, day, or a number of seconds from 1 to {MAX_BUCKET_SECONDS} (366 days)"
        ),
    ),
]


def bucket_seconds(bucket: str) -> int:
    seconds = BUCKETS.get(bucket) or int(bucket)
    if not 1 <= seconds <= MAX_BUCKET_SECONDS:
        raise HTTPException(
            422, f"bucket must be minute, hour, day or 1 to {MAX_BUCKET_SECONDS} seconds"
        )
    return seconds


AlertId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The alert's id")]
AlertStateFilter = Annotated[AlertState | None, Query(description="Only alerts in this state")]
MonitorFilter = Annotated[
    int | None, Query(ge=1, le=INT64_MAX, description="Only alerts of this monitor")
]
AlertsSince = Annotated[
    AwareDatetime | None,
    Query(description="Only alerts last triggered at or after this moment" + _TIME),
]
EventId = Annotated[
    int | None,
    Query(
        ge=0,
        le=INT64_MAX,
        description="Resume after this event id (as the Last-Event-ID header does)",
    ),
]
Place = Annotated[
    str | None,
    Query(
        pattern=r"^GM[0-9]{4}$",
        description="Only posts about this municipality (CBS code, e.g. GM0363)",
    ),
]
Reason = Annotated[
    str | None,
    Query(
        max_length=1000,
        pattern=NO_NUL,
        description=(
            "Why (for the audit log): needed with the re-identify permission when the query"
            " holds `@handle`"
        ),
    ),
]
