from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from stadspuls.records import Actor
from stadspuls.web.auth import require
from stadspuls.web.params import Bucket, Lang, Since, Sources, Until, bucket_seconds
from stadspuls.web.routes import reads
from stadspuls.web.schemas import VolumeBucket, VolumeOut

router = APIRouter(tags=["stats"])


@router.get("/stats/volume", response_model=VolumeOut)
def get_volume(
    request: Request,
    actor: Annotated[Actor, Depends(require("posts"))],
    bucket: Bucket = "hour",
    since: Since = None,
    until: Until = None,
    source: Sources = None,
    lang: Lang = None,
) -> VolumeOut:
    """Post counts per time bucket (UTC, aligned to the epoch), oldest first. Counted over the
    posts themselves, not held to the 5-author floor of viewers' aggregates: analysts only."""
    seconds = bucket_seconds(bucket)
    rows = reads(request).volume(
        actor, bucket_seconds=seconds, since=since, until=until, sources=source, lang=lang
    )
    return VolumeOut(
        bucket_seconds=seconds, buckets=[VolumeBucket(start=s, count=n) for s, n in rows]
    )
