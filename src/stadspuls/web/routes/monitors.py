from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, Response

from stadspuls import monitors
from stadspuls.records import Monitor
from stadspuls.store import monitors as store
from stadspuls.web.params import Bucket, Limit, MonitorId, Offset, Since, Until, bucket_seconds
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


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def _get(request: Request, monitor_id: int) -> Monitor:
    found = store.get_monitor(_engine(request), monitor_id)
    if found is None:
        raise HTTPException(404, f"no monitor {monitor_id}")
    return found


@router.get("", response_model=list[MonitorOut])
def list_monitors(request: Request) -> list[MonitorOut]:
    engine = _engine(request)
    counts = store.link_counts(engine)
    return [
        MonitorOut.from_monitor(m, counts.get(m.id or 0, 0)) for m in store.list_monitors(engine)
    ]


@router.post("", response_model=MonitorOut, status_code=201)
def create_monitor(request: Request, body: MonitorCreate) -> MonitorOut:
    """Create a monitor and match it against the archive (backfill) before answering."""
    monitor = Monitor(**body.model_dump())
    try:
        saved, matched = monitors.create(
            _engine(request), monitor, pseudonymise=request.app.state.pseudonymise
        )
    except store.MonitorExists as error:
        raise HTTPException(409, str(error)) from error
    return MonitorOut.from_monitor(saved, matched)


@router.get("/{monitor_id}", response_model=MonitorOut)
def get_monitor(request: Request, monitor_id: MonitorId) -> MonitorOut:
    found = _get(request, monitor_id)
    return MonitorOut.from_monitor(found, store.link_counts(_engine(request)).get(monitor_id, 0))


@router.patch("/{monitor_id}", response_model=MonitorOut)
def update_monitor(request: Request, monitor_id: MonitorId, body: MonitorUpdate) -> MonitorOut:
    """Change a monitor; a changed query or place list re-matches the archive."""
    found = _get(request, monitor_id)
    changes = body.model_dump(exclude_unset=True)
    if "places" in changes:
        changes["places"] = tuple(changes["places"])
    try:
        saved, _ = monitors.edit(
            _engine(request),
            monitors.replace(found, **changes),
            pseudonymise=request.app.state.pseudonymise,
        )
    except store.MonitorExists as error:
        raise HTTPException(409, str(error)) from error
    return MonitorOut.from_monitor(saved, store.link_counts(_engine(request)).get(monitor_id, 0))


@router.delete("/{monitor_id}", status_code=204)
def delete_monitor(request: Request, monitor_id: MonitorId) -> Response:
    if not store.delete_monitor(_engine(request), monitor_id):
        raise HTTPException(404, f"no monitor {monitor_id}")
    return Response(status_code=204)


@router.get("/{monitor_id}/posts", response_model=PostPage)
def monitor_posts(
    request: Request,
    monitor_id: MonitorId,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PostPage:
    """The posts a monitor matched, newest first."""
    _get(request, monitor_id)
    total, found = store.monitor_post_page(
        _engine(request), monitor_id, since=since, until=until, limit=limit, offset=offset
    )
    return PostPage(
        total=total, limit=limit, offset=offset, posts=[PostOut.from_post(p) for p in found]
    )


@router.get("/{monitor_id}/stats", response_model=VolumeOut)
def monitor_stats(
    request: Request,
    monitor_id: MonitorId,
    bucket: Bucket = "hour",
    since: Since = None,
    until: Until = None,
) -> VolumeOut:
    """Matched posts per time bucket (UTC), oldest first."""
    _get(request, monitor_id)
    seconds = bucket_seconds(bucket)
    rows = store.monitor_volume(
        _engine(request), monitor_id, bucket_seconds=seconds, since=since, until=until
    )
    return VolumeOut(
        bucket_seconds=seconds, buckets=[VolumeBucket(start=s, count=n) for s, n in rows]
    )
