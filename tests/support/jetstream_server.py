"""A Jetstream replayer: a real websocket server on loopback that sends recorded events.

It honours `cursor` (sends the events with `time_us >= cursor`), drops connections after a
planned number of frames, and slips malformed frames in once, at chosen positions.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import websockets
from websockets.asyncio.server import ServerConnection


class JetstreamReplayer:
    def __init__(
        self,
        events: Sequence[dict[str, Any]],
        *,
        plan: Sequence[int | None] = (),
        malformed: dict[int, list[str | bytes]] | None = None,
        abort: bool = True,
    ) -> None:
        self.events = sorted(events, key=lambda e: int(e["time_us"]))
        self.times = [int(e["time_us"]) for e in self.events]
        self.frames = [msgspec.json.encode(e).decode() for e in self.events]
        self.plan = list(plan)  # frames to send on connection i before dropping; None: all
        self.malformed = dict(malformed or {})
        self.abort = abort
        self.cursors: list[int | None] = []  # the cursor each connection asked for
        self.queries: list[dict[str, list[str]]] = []
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        self.queries.append(query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        self.cursors.append(cursor)
        number = len(self.cursors) - 1
        limit = self.plan[number] if number < len(self.plan) else None
        start = 0 if cursor is None else bisect.bisect_left(self.times, cursor)
        for sent, index in enumerate(range(start, len(self.frames)), start=1):
            for bad in self.malformed.pop(index, []):
                await ws.send(bad)
            await ws.send(self.frames[index])
            if limit is not None and sent >= limit:
                if self.abort:
                    ws.transport.abort()  # as a crashed server or a cut line: no close frame
                else:
                    await ws.close(1011, "going away")
                return
        await ws.wait_closed()  # then stay open, as the live tail does

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        async with websockets.serve(self.handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}"
            yield self.url
            server.close()
            await asyncio.sleep(0)
