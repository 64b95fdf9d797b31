"""JetstreamSource against a real websocket server on loopback replaying recorded events."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

from stadspuls.records import Checkpoint, Deletion
from stadspuls.settings import BlueskySettings
from stadspuls.sources.jetstream import JetstreamSource
from tests.support.http import closed_port
from tests.support.jetstream_server import JetstreamReplayer
from tests.support.streams import collect_until, has_posts, post_ids, stored_until_last_checkpoint

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "jetstream_events.jsonl"
T0 = 1_732_370_400_000_000
STEP_US = 1000


def recorded() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def event_stream(count: int) -> tuple[list[dict[str, Any]], set[str]]:
    """`count` events shaped like the recorded ones: mostly Dutch posts, some English or
    undeclared (filtered out), identity/account events and deletions in between."""
    templates = recorded()
    nl_post, en_post = templates[0], templates[1]
    identity, delete = templates[2], templates[7]
    events: list[dict[str, Any]] = []
    expected: set[str] = set()
    for i in range(count):
        if i % 11 == 5:
            event = copy.deepcopy(identity)
        elif i % 13 == 7:
            event = copy.deepcopy(delete)
            event["commit"]["rkey"] = f"rk{i - 3:05d}"
        else:
            event = copy.deepcopy(nl_post if i % 4 else en_post)
            event["commit"]["rkey"] = f"rk{i:05d}"
            if i % 4 and i % 9 != 3:
                expected.add(f"bluesky:{event['did']}/rk{i:05d}")
            elif i % 4:
                del event["commit"]["record"]["langs"]  # undeclared: filtered out
        event["time_us"] = T0 + i * STEP_US
        events.append(event)
    return events, expected


def source(hosts: list[str]) -> JetstreamSource:
    return JetstreamSource(
        BlueskySettings(hosts=hosts, langs=["nl"]),
        backoff_base=0.001,
        backoff_cap=0.01,
        rewind_seconds=2.5 * STEP_US / 1e6,  # rewinds over two or three events
        checkpoint_every=1,
    )


def test_reconnects_resumes_and_skips_malformed_frames() -> None:
    events, expected = event_stream(120)
    malformed: dict[int, list[str | bytes]] = {
        10: ["{not json"],
        40: ['{"kind": "commit", "time_us": 1}'],  # no did
        70: [b"\x00\xffbinary"],
    }
    replayer = JetstreamReplayer(events, plan=[30, 45, None], malformed=malformed)

    async def scenario() -> list[Any]:
        async with replayer.running() as url:
            # the first host is down: the source must rotate to the next one
            jet = source([f"ws://127.0.0.1:{closed_port()}", url])
            items = await collect_until(jet.stream({}), has_posts(expected))
            assert jet.stats.malformed == 3
            assert jet.stats.reconnects >= 3  # refused, dropped, refused, dropped
            status = jet.stats.streams["jetstream"]
            assert status.state == "running"  # working again after the failures
            assert status.last_success is not None
            assert status.error_count == 0
            assert "ConnectionRefused" in (status.last_error or "") or "closed" in (
                status.last_error or ""
            )
            return items

    items = asyncio.run(scenario())
    assert post_ids(items) == expected  # none missing, none foreign
    # every reconnect resumed from the last event seen, rewound a little
    assert replayer.cursors[0] is None
    resumed = [c for c in replayer.cursors[1:] if c is not None]
    assert len(resumed) == 2
    assert T0 < resumed[0] < resumed[1] < T0 + 120 * STEP_US
    assert all("app.bsky.feed.post" in q["wantedCollections"] for q in replayer.queries)
    # the deletions in the stream are passed on
    assert any(isinstance(item, Deletion) for item in items)
    # checkpoints follow their posts and never go back
    cursors = [int(item.cursor) for item in items if isinstance(item, Checkpoint)]
    assert cursors == sorted(cursors)


def test_restart_from_stored_checkpoint_loses_nothing() -> None:
    events, expected = event_stream(80)
    replayer = JetstreamReplayer(events)

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with replayer.running() as url:
            first = await collect_until(source([url]).stream({}), lambda items: len(items) > 50)
            stored, cursor = stored_until_last_checkpoint(first, "jetstream")
            second = await collect_until(
                source([url]).stream({"jetstream": cursor}),
                lambda items: expected <= post_ids(stored) | post_ids(items),
            )
            return stored, second

    stored, second = asyncio.run(scenario())
    assert post_ids(stored) | post_ids(second) == expected
    assert replayer.cursors[1] is not None  # the restart asked for its cursor
    # the overlap is only the few events of the rewind
    assert len(post_ids(stored) & post_ids(second)) <= 3


def test_language_filter_keeps_undeclared_when_asked() -> None:
    jet = JetstreamSource(BlueskySettings(langs=["nl"], keep_undeclared=True))
    frames = FIXTURE.read_text().splitlines()
    kept = [item for item in map(jet.handle, frames) if item is not None]
    texts = [getattr(item, "text", "") for item in kept]
    assert "Zonder taal: stroomstoring in Utrecht-Oost?" in texts
    assert "Lovely morning in Amsterdam" not in texts
    assert jet.stats.received == len(frames)
    everything = JetstreamSource(BlueskySettings(langs=[]))
    assert sum(1 for f in frames if everything.handle(f) is not None) == 8
