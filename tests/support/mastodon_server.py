"""A Mastodon server on loopback: the REST timelines (honouring min_id, since_id, limit) and
the streaming API (Server-Sent Events), with statuses published as the test goes on."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HOST = "mastodon.test"


def make_status(n: int, template: dict[str, Any]) -> dict[str, Any]:
    """Status number n, shaped like the recorded fixture `template`, with a fresh id and uri."""
    status = copy.deepcopy(template)
    status_id = str(113_526_000_000_000_000 + n)
    status["id"] = status_id
    status["uri"] = f"https://{HOST}/users/anna/statuses/{status_id}"
    status["url"] = f"https://{HOST}/@anna/{status_id}"
    status["content"] = f"<p>Bericht {n} over de <b>Kerkstraat</b></p>"
    status["created_at"] = f"2024-11-23T14:{n // 60:02d}:{n % 60:02d}.000Z"
    status["account"]["acct"] = "anna"
    return status


def id_key(status_id: str) -> tuple[int, str]:
    return (len(status_id), status_id)


@dataclass
class StreamPlan:
    silent: int = 0  # published when the connection opens, but not streamed (REST only)
    streamed: int = 0  # published and sent as `update` events
    extras: bool = False  # also send a malformed event, a delete, an edit and an unknown event
    keep_open: bool = False  # then send heartbeats until the client goes
    late: int = 0  # late-federated statuses (old ids) that reached the server while it was down


class FakeMastodon:
    def __init__(
        self,
        statuses: list[dict[str, Any]],
        *,
        published: int = 0,
        plans: list[StreamPlan] | None = None,
        stream_status: int = 200,
        publish_per_poll: int = 0,
        late: list[dict[str, Any]] | None = None,
    ) -> None:
        self.statuses = statuses
        self.late = late or []
        self.late_published = 0
        self.published = published
        self.plans = plans or []
        self.stream_status = stream_status
        self.publish_per_poll = publish_per_poll
        self.rest_requests: list[dict[str, str]] = []
        self.stream_requests: list[dict[str, str]] = []
        self.authorizations: list[str | None] = []
        self.app = Starlette(
            routes=[
                Route("/api/v1/timelines/public", self.timeline),
                Route("/api/v1/timelines/tag/{tag}", self.timeline),
                Route("/api/v1/streaming/public", self.streaming),
                Route("/api/v1/streaming/public/local", self.streaming),
                Route("/api/v1/streaming/hashtag", self.streaming),
            ]
        )

    def publish(self, count: int) -> list[dict[str, Any]]:
        new = self.statuses[self.published : self.published + count]
        self.published += len(new)
        return new

    async def timeline(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.rest_requests.append({"path": request.url.path, **params})
        self.authorizations.append(request.headers.get("authorization"))
        # The API orders by id, not by arrival: a late status sorts among older ones.
        visible = sorted(
            self.statuses[: self.published] + self.late[: self.late_published],
            key=lambda s: id_key(s["id"]),
        )
        self.publish(self.publish_per_poll)  # visible from the next poll on
        limit = int(params.get("limit", "20"))
        if "min_id" in params:
            newer = [s for s in visible if id_key(s["id"]) > id_key(params["min_id"])]
            page = newer[:limit]
        elif "since_id" in params:
            newer = [s for s in visible if id_key(s["id"]) > id_key(params["since_id"])]
            page = newer[-limit:]
        else:
            page = visible[-limit:]
        return JSONResponse(list(reversed(page)))  # newest first, as the API does

    async def streaming(self, request: Request) -> Response:
        self.stream_requests.append({"path": request.url.path, **dict(request.query_params)})
        self.authorizations.append(request.headers.get("authorization"))
        if self.stream_status != 200:
            return JSONResponse(
                {"error": "This method requires an authenticated user"}, self.stream_status
            )
        number = len(self.stream_requests) - 1
        plan = self.plans[number] if number < len(self.plans) else StreamPlan(keep_open=True)
        self.publish(plan.silent)
        self.late_published += plan.late
        return StreamingResponse(self.events(plan), media_type="text/event-stream")

    async def events(self, plan: StreamPlan) -> AsyncIterator[str]:
        yield ":)\n"
        for status in self.publish(plan.streamed):
            yield f"event: update\ndata: {json.dumps(status)}\n\n"
        if plan.extras:
            yield "event: update\ndata: {this is not json\n\n"
            first = self.statuses[0]
            edited = {**first, "content": "<p>Bewerkt</p>", "edited_at": "2024-11-23T15:00:00Z"}
            yield f"event: status.update\ndata: {json.dumps(edited)}\n\n"
            yield f"event: delete\ndata: {self.statuses[1]['id']}\n\n"
            yield 'event: announcement\ndata: {"id": "1"}\n\n'
        while plan.keep_open:
            yield ":thump\n"
            await asyncio.sleep(0.02)
