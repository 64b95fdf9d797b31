from __future__ import annotations

from fastapi import APIRouter, Request

from stadspuls.store.posts import volume
from stadspuls.web.params import Bucket, Lang, Since, Sources, Until, bucket_seconds
from stadspuls.web.schemas import VolumeBucket, VolumeOut

router = APIRouter(tags=["stats"])


@router.get("/stats/volume", response_model=VolumeOut)
def get_volume(
    request: Request,
    bucket: Bucket = "hour",
    since: Since = None,
    until: Until = None,
    source: Sources = None,
    lang: Lang = None,
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
