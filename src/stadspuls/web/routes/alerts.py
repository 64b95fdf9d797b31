"""Alerts: list, inspect, acknowledge, resolve and annotate them; each monitor's alert rules;
and the live stream of alert events (server-sent events, resumable with Last-Event-ID). All need
the permission "posts"; who acts is the signed-in user (an old client's `by` is ignored).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from stadspuls.alerts.rules import AlertRule
from stadspuls.alerts.stream import EventCursor
from stadspuls.records import Actor
from stadspuls.store import alerts as store
from stadspuls.store.rows import from_us
from stadspuls.web.auth import require
from stadspuls.web.params import (
    INT64_MAX,
    AlertId,
    AlertsSince,
    AlertStateFilter,
    EventId,
    Limit,
    MonitorFilter,
    MonitorId,
    Offset,
)
from stadspuls.web.routes import reads
from stadspuls.web.schemas import (
    AcknowledgeIn,
    AlertDetail,
    AlertEventOut,
    AlertOut,
    AlertPage,
    DeliveryOut,
    NoteIn,
    ResolveIn,
    RuleIn,
    RuleOut,
)

router = APIRouter(tags=["alerts"])
Analyst = Annotated[Actor, Depends(require("posts"))]
# The live stream looks for new events this often at most (a post's alert reaches a client
# within about a second end to end; see bench/alerts.py).
MAX_POLL_S = 0.25
STREAM_BATCH = 500
RECONNECT_MS = 2000


def stop_streams(app: FastAPI) -> None:
    """End every open live stream (a server shutting down); clients reconnect elsewhere."""
    _stopping(app).set()


def _stopping(app: FastAPI) -> threading.Event:
    if not hasattr(app.state, "alert_streams_stop"):
        app.state.alert_streams_stop = threading.Event()
    event: threading.Event = app.state.alert_streams_stop
    return event


def _event_data(event: store.AlertEvent) -> str:
    return msgspec.json.encode(
        {
            "event_id": event.id,
            "alert_id": event.alert_id,
            "kind": event.kind,
            "at": event.at,
            "actor": event.actor,
            "alert": msgspec.Raw(event.payload.encode()),
        }
    ).decode()


@router.get("/alerts/stream", response_class=EventSourceResponse, include_in_schema=False)
async def alert_stream(
    request: Request,
    actor: Analyst,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=INT64_MAX)] = None,
    after: EventId = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every alert event after `Last-Event-ID` (or `after`; without either: from now on), one
    SSE event each: `id` the event id, `event` its kind, `data` JSON with the alert. Not in the
    OpenAPI schema: a stream does not end, which a schema-driven client cannot call."""
    service = reads(request)
    poll = min(MAX_POLL_S, request.app.state.settings.alerts.poll_s)
    stopping = _stopping(request.app)
    start = last_event_id if last_event_id is not None else after
    if start is None:
        start = await asyncio.to_thread(service.last_event_id, actor)
    cursor = EventCursor(start)
    yield ServerSentEvent(comment="stadspuls alert events", retry=RECONNECT_MS)
    while not stopping.is_set() and not await request.is_disconnected():
        read = await asyncio.to_thread(
            service.events_after, actor, cursor.last, STREAM_BATCH, set(cursor.missing)
        )
        for event in cursor.fresh(read):
            yield ServerSentEvent(raw_data=_event_data(event), event=event.kind, id=str(event.id))
        if len(read) < STREAM_BATCH:
            await asyncio.sleep(poll)


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    request: Request,
    actor: Analyst,
    state: AlertStateFilter = None,
    monitor: MonitorFilter = None,
    since: AlertsSince = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AlertPage:
    """Alerts, newest first."""
    total, found = reads(request).alerts(
        actor, state=state, monitor_id=monitor, since=since, limit=limit, offset=offset
    )
    return AlertPage(
        total=total, limit=limit, offset=offset, alerts=[AlertOut.from_alert(a) for a in found]
    )


def _detail(request: Request, actor: Actor, alert_id: int) -> AlertDetail:
    alert, history, sent = reads(request).alert_history(actor, alert_id)
    events = [
        AlertEventOut(id=e.id, kind=e.kind, at=e.at, actor=e.actor, alert=json.loads(e.payload))
        for e in history
    ]
    deliveries = [
        DeliveryOut(
            id=int(str(d["id"])),
            event_id=int(str(d["event_id"])),
            channel=str(d["channel"]),
            target=str(d["target"]),
            state=str(d["state"]),
            attempts=int(str(d["attempts"])),
            delivered_at=from_us(int(str(d["delivered_us"]))) if d["delivered_us"] else None,
            last_error=None if d["last_error"] is None else str(d["last_error"]),
        )
        for d in sent
    ]
    return AlertDetail(
        **AlertOut.from_alert(alert).model_dump(), events=events, deliveries=deliveries
    )


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(request: Request, actor: Analyst, alert_id: AlertId) -> AlertDetail:
    """One alert with its events (opened, updated, acknowledged, note, …) and deliveries."""
    return _detail(request, actor, alert_id)


@router.post("/alerts/{alert_id}/ack", response_model=AlertDetail)
def acknowledge(
    request: Request, actor: Analyst, alert_id: AlertId, body: AcknowledgeIn | None = None
) -> AlertDetail:
    """open -> acknowledged by you; 409 when it is not open (acknowledged already: it says by
    whom)."""
    reads(request).acknowledge(actor, alert_id, body.note if body else None)
    return _detail(request, actor, alert_id)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertDetail)
def resolve(
    request: Request, actor: Analyst, alert_id: AlertId, body: ResolveIn | None = None
) -> AlertDetail:
    """open or acknowledged -> resolved (or false_alarm); 409 when it is closed already."""
    body = body or ResolveIn()
    reads(request).resolve(actor, alert_id, body.note, body.false_alarm)
    return _detail(request, actor, alert_id)


@router.post("/alerts/{alert_id}/note", response_model=AlertDetail)
def add_note(request: Request, actor: Analyst, alert_id: AlertId, body: NoteIn) -> AlertDetail:
    """Add a note to an alert in any state (an event "note"; the alert's note becomes it)."""
    reads(request).add_note(actor, alert_id, body.note)
    return _detail(request, actor, alert_id)


def _rules_out(rules: list[AlertRule]) -> list[RuleOut]:
    return [
        RuleOut(
            monitor_id=r.monitor_id,
            detector=r.detector,
            enabled=r.enabled,
            sensitivity=r.sensitivity,
            quiet_hours=r.quiet_hours,
            channels=list(r.channels),
            params=dict(r.params),
        )
        for r in rules
    ]


@router.get("/monitors/{monitor_id}/rules", response_model=list[RuleOut])
def get_rules(request: Request, actor: Analyst, monitor_id: MonitorId) -> list[RuleOut]:
    """The monitor's rule for every detector (the default where none was set)."""
    return _rules_out(reads(request).rules(actor, monitor_id))


@router.put("/monitors/{monitor_id}/rules", response_model=list[RuleOut])
def put_rules(
    request: Request, actor: Analyst, monitor_id: MonitorId, body: list[RuleIn]
) -> list[RuleOut]:
    """Set the rules of the detectors named in the body (others keep theirs); answers all."""
    rules = [
        AlertRule(
            monitor_id=monitor_id,
            detector=rule.detector,
            enabled=rule.enabled,
            sensitivity=rule.sensitivity,
            quiet_hours=rule.quiet_hours,
            channels=tuple(dict.fromkeys(rule.channels)),
            params=dict(rule.params),
        )
        for rule in body
    ]
    return _rules_out(reads(request).set_rules(actor, monitor_id, rules))
