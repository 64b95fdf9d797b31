"""Monitors: every role reads them (names, purpose, counts); analysts change them and read the
posts they matched. A query with `@handle` needs the re-identify permission and a `reason`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from stadspuls.records import Actor, Monitor
from stadspuls.web.auth import require
from stadspuls.web.params import (
    Bucket,
    Limit,
    MonitorId,
    Offset,
    Reason,
    Since,
    Until,
    bucket_seconds,
)
from stadspuls.web.routes import reads
from stadspuls.web.schemas import (
    MonitorCreate,
    MonitorOut,
    MonitorUpdate,
    PostOut,
    PostPage,
    VolumeBucket,
    VolumeOut,
)

router = APIRouter(prefix="/monitors", tags=["monitors"])
Reader = Annotated[Actor, Depends(require("aggregates"))]
Analyst = Annotated[Actor, Depends(require("posts"))]


@router.get("", response_model=list[MonitorOut])
def list_monitors(request: Request, actor: Reader) -> list[MonitorOut]:
    return [MonitorOut.from_monitor(m, n) for m, n in reads(request).monitors(actor)]


@router.post("", response_model=MonitorOut, status_code=201)
def create_monitor(
    request: Request, actor: Analyst, body: MonitorCreate, reason: Reason = None
) -> MonitorOut:
    """Create a monitor (owner: you, unless named) and match it against the archive (backfill)
    before answering."""
    values = body.model_dump()
    values["owner"] = values["owner"] or ""
    monitor = Monitor(**{**values, "places": tuple(values["places"])})
    saved, matched = reads(request).create_monitor(actor, monitor, reason)
    return MonitorOut.from_monitor(saved, matched)


@router.get("/{monitor_id}", response_model=MonitorOut)
def get_monitor(request: Request, actor: Reader, monitor_id: MonitorId) -> MonitorOut:
    found, posts = reads(request).monitor(actor, monitor_id)
    return MonitorOut.from_monitor(found, posts)


@router.patch("/{monitor_id}", response_model=MonitorOut)
def update_monitor(
    request: Request,
    actor: Analyst,
    monitor_id: MonitorId,
    body: MonitorUpdate,
    reason: Reason = None,
) -> MonitorOut:
    """Change a monitor; a changed query or place list re-matches the archive."""
    changes = body.model_dump(exclude_unset=True)
    if "places" in changes:
        changes["places"] = tuple(changes["places"])
    service = reads(request)
    service.update_monitor(actor, monitor_id, changes, reason)
    found, posts = service.monitor(actor, monitor_id)
    return MonitorOut.from_monitor(found, posts)


@router.delete("/{monitor_id}", status_code=204)
def delete_monitor(request: Request, actor: Analyst, monitor_id: MonitorId) -> Response:
    reads(request).delete_monitor(actor, monitor_id)
    return Response(status_code=204)


@router.get("/{monitor_id}/posts", response_model=PostPage)
def monitor_posts(
    request: Request,
    actor: Analyst,
    monitor_id: MonitorId,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PostPage:
    """The posts a monitor matched, newest first (written to the audit log)."""
    total, found = reads(request).post_records(
        actor, monitor_id=monitor_id, since=since, until=until, limit=limit, offset=offset
    )
    return PostPage(
        total=total, limit=limit, offset=offset, posts=[PostOut.from_post(p) for p in found]
    )


@router.get("/{monitor_id}/stats", response_model=VolumeOut)
def monitor_stats(
    request: Request,
    actor: Analyst,
    monitor_id: MonitorId,
    bucket: Bucket = "hour",
    since: Since = None,
    until: Until = None,
) -> VolumeOut:
    """Matched posts per time bucket (UTC), oldest first. Counted over the matched posts, not
    held to the 5-author floor of viewers' aggregates: analysts only."""
    seconds = bucket_seconds(bucket)
    rows = reads(request).volume(
        actor, bucket_seconds=seconds, monitor_id=monitor_id, since=since, until=until
    )
    return VolumeOut(
        bucket_seconds=seconds, buckets=[VolumeBucket(start=s, count=n) for s, n in rows]
    )
