from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from stadspuls.store.posts import volume
from stadspuls.web.schemas import VolumeBucket, VolumeOut

router = APIRouter(tags=["stats"])

BUCKETS = {"minute": 60, "hour": 3600, "day": 86400}


def bucket_seconds(bucket: str) -> int:
    seconds = BUCKETS.get(bucket) or (int(bucket) if bucket.isdigit() else 0)
    if seconds <= 0:
        raise HTTPException(422, "bucket must be minute, hour, day or a positive number of seconds")
    return seconds


@router.get("/stats/volume", response_model=VolumeOut)
def get_volume(
    request: Request,
    bucket: Annotated[str, Query(description="minute, hour, day, or a number of seconds")] = "hour",
    since: datetime | None = None,
    until: datetime | None = None,
    source: Annotated[list[str] | None, Query()] = None,
    lang: str | None = None,
) -> VolumeOut:
    """Post counts per time bucket (UTC, aligned to the epoch), oldest first."""
    seconds = bucket_seconds(bucket)
    rows = volume(
        request.app.state.engine,
        bucket_seconds=seconds,
        since=since,
        until=until,
        sources=source,
        lang=lang,
    )
    return VolumeOut(
        bucket_seconds=seconds, buckets=[VolumeBucket(start=s, count=n) for s, n in rows]
    )
