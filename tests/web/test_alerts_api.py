"""The alerts API: list, detail, acknowledge, resolve, rules; and the live stream served by a real
uvicorn server to a real HTTP client, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings, WebhookSettings
from stadspuls.store import alerts as store
from stadspuls.store.database import open_store
from stadspuls.web.app import create_app
from stadspuls.web.routes.alerts import stop_streams
from tests.alerts.factories import add_monitor, signal
from tests.support.accounts import bearer
from tests.support.http import serve


def _record(engine: sa.Engine, *signals: Any) -> list[int]:
    with engine.begin() as conn:
        return store.record_signals(conn, list(signals))


def test_list_show_acknowledge_resolve_and_note(settings: Settings, engine: sa.Engine) -> None:
    app = create_app(settings, engine=engine)
    client = TestClient(app, headers=bearer(engine, "analyst", name="agent12"))
    colleague = TestClient(app, headers=bearer(engine, "analyst", name="agent7"))
    monitor = add_monitor(engine)
    other = add_monitor(engine, "other")
    _record(engine, signal(monitor, 0), signal(monitor, 1), signal(other, 2))
    page = client.get("/api/alerts").json()
    assert page["total"] == 2
    assert [a["monitor_id"] for a in page["alerts"]] == [other, monitor]
    mine = client.get("/api/alerts", params={"monitor": monitor}).json()["alerts"]
    assert len(mine) == 1
    alert = mine[0]
    assert (alert["triggers"], alert["state"], alert["observed"]) == (2, "open", 12.0)
    assert alert["evidence"]["posts_url"].startswith(f"/api/monitors/{monitor}/posts?since=")
    posts = client.get(alert["evidence"]["posts_url"])
    assert posts.status_code == 200
    detail = client.get(f"/api/alerts/{alert['id']}").json()
    # The link in e-mails and webhook bodies leads to the alert's page.
    page = client.get(f"/alerts/{alert['id']}", follow_redirects=False)
    assert page.status_code == 200
    assert alert["summary"] in page.text
    assert [e["kind"] for e in detail["events"]] == ["opened", "updated"]
    assert detail["events"][0]["alert"]["triggers"] == 1
    assert detail["deliveries"] == []

    # Who acts is the token's user; an old client's `by` is accepted and ignored.
    ack = client.post(f"/api/alerts/{alert['id']}/ack", json={"by": "someone", "note": "seen"})
    assert ack.status_code == 200, ack.text
    assert (ack.json()["state"], ack.json()["acknowledged_by"]) == ("acknowledged", "agent12")
    again = colleague.post(f"/api/alerts/{alert['id']}/ack")
    assert again.status_code == 409
    assert "agent12" in again.json()["detail"]
    noted = colleague.post(f"/api/alerts/{alert['id']}/note", json={"note": "called the district"})
    assert noted.status_code == 200, noted.text
    assert noted.json()["events"][-1]["kind"] == "note"
    assert noted.json()["events"][-1]["actor"] == "agent7"
    assert noted.json()["events"][-1]["alert"]["note"] == "called the district"
    assert noted.json()["state"] == "acknowledged"
    for empty in (" ", "\x00", "a\x00", "\x1f", " \x1c\n"):  # NUL, separators: fuzz finds
        answer = client.post(f"/api/alerts/{alert['id']}/note", json={"note": empty})
        assert answer.status_code == 422
    done = colleague.post(
        f"/api/alerts/{alert['id']}/resolve", json={"note": "nothing there", "false_alarm": True}
    )
    assert (done.json()["state"], done.json()["note"]) == ("false_alarm", "nothing there")
    assert done.json()["closed_by"] == "agent7"
    assert client.post(f"/api/alerts/{alert['id']}/ack", json={}).status_code == 409
    assert client.post("/api/alerts/999/ack").status_code == 404
    assert client.post("/api/alerts/999/note", json={"note": "x"}).status_code == 404
    assert client.get("/api/alerts/999").status_code == 404
    assert client.get("/api/alerts", params={"state": "false_alarm"}).json()["total"] == 1
    assert client.get("/api/alerts", params={"state": "nonsense"}).status_code == 422
    later = client.get("/api/alerts", params={"since": "2030-01-01T00:00:00Z"}).json()
    assert later["total"] == 0


def test_rules_read_defaults_and_write(settings: Settings, engine: sa.Engine) -> None:
    hooks = [WebhookSettings(name="politie", url="http://127.0.0.1:9/", secret_env="X")]
    client = TestClient(
        create_app(settings.model_copy(update={"webhooks": hooks}), engine=engine),
        headers=bearer(engine),
    )
    monitor = add_monitor(engine)
    rules = client.get(f"/api/monitors/{monitor}/rules").json()
    assert [(r["detector"], r["enabled"], r["channels"]) for r in rules] == [
        (d, True, ["live"]) for d in ("burst", "negative", "story", "rumour", "p2000")
    ]
    body = [
        {
            "detector": "burst",
            "sensitivity": 2,
            "quiet_hours": "23:00-07:00",
            "channels": ["live", "webhook:politie"],
        },
        {"detector": "rumour", "enabled": False},
    ]
    saved = client.put(f"/api/monitors/{monitor}/rules", json=body)
    assert saved.status_code == 200, saved.text
    by_name = {r["detector"]: r for r in saved.json()}
    assert by_name["burst"]["sensitivity"] == 2
    assert by_name["burst"]["channels"] == ["live", "webhook:politie"]
    assert by_name["rumour"]["enabled"] is False
    assert by_name["story"]["enabled"] is True
    unknown = [{"detector": "burst", "channels": ["webhook:brandweer"]}]
    refused = client.put(f"/api/monitors/{monitor}/rules", json=unknown)
    assert refused.status_code == 422
    assert "no webhook named 'brandweer'" in refused.json()["detail"]
    # E-mail needs an SMTP server in the settings; nothing of a refused body is stored.
    mail = [{"detector": "story"}, {"detector": "burst", "channels": ["email:a@b.nl"]}]
    assert client.put(f"/api/monitors/{monitor}/rules", json=mail).status_code == 422
    assert {r["detector"]: r for r in client.get(f"/api/monitors/{monitor}/rules").json()} == (
        by_name
    )
    bad_hours = [{"detector": "burst", "quiet_hours": "25:00-07:00"}]
    assert client.put(f"/api/monitors/{monitor}/rules", json=bad_hours).status_code == 422
    assert client.get("/api/monitors/999/rules").status_code == 404
    assert client.put("/api/monitors/999/rules", json=[]).status_code == 404


async def _read_events(response: httpx.Response, count: int) -> list[dict[str, Any]]:
    """The next `count` SSE events (comments skipped) as {id, event, data}."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = json.loads(value) if name == "data" else value
    raise AssertionError("the stream ended")


def test_the_live_stream_sends_new_events_and_resumes(
    settings: Settings, engine: sa.Engine
) -> None:
    monitor = add_monitor(engine)
    before = _record(engine, signal(monitor, 0, key="before"))
    app = create_app(settings, engine=engine)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
        async with (
            serve(app) as url,
            httpx.AsyncClient(base_url=url, timeout=10, headers=bearer(engine)) as client,
            client.stream("GET", "/api/alerts/stream") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            await asyncio.sleep(0.3)  # connected: only what happens from now on
            start = time.monotonic()
            _record(engine, signal(monitor, 1, key="after"))
            first = await asyncio.wait_for(_read_events(response, 1), 5)
            latency = time.monotonic() - start
            # Two more while no client is connected; the client resumes where it stopped.
            _record(engine, signal(monitor, 2, key="after"), signal(monitor, 3, key="x"))
            headers = {"Last-Event-ID": first[0]["id"]}
            async with client.stream("GET", "/api/alerts/stream", headers=headers) as response:
                resumed = await asyncio.wait_for(_read_events(response, 2), 5)
            bad = await client.get("/api/alerts/stream", headers={"Last-Event-ID": "x"})
            assert bad.status_code == 422
        return first, resumed, latency

    first, resumed, latency = asyncio.run(scenario())
    assert first[0]["event"] == "opened"
    assert first[0]["data"]["alert"]["key"] == "after"
    assert int(first[0]["id"]) == before[0] + 1
    assert latency < 1.0
    assert [e["event"] for e in resumed] == ["updated", "opened"]
    assert [int(e["id"]) for e in resumed] == [before[0] + 2, before[0] + 3]
    assert resumed[0]["data"]["alert"]["triggers"] == 2


@pytest.mark.postgres
def test_an_event_committed_late_still_reaches_the_stream(settings: Settings, pg_url: str) -> None:
    """On PostgreSQL a consumer can commit event N after another committed N+1."""
    engine = open_store(pg_url)
    monitor = add_monitor(engine)
    app = create_app(settings.model_copy(update={"db_url": pg_url}), engine=engine)

    async def scenario() -> list[dict[str, Any]]:
        async with (
            serve(app) as url,
            httpx.AsyncClient(base_url=url, timeout=10, headers=bearer(engine)) as client,
            client.stream("GET", "/api/alerts/stream") as response,
        ):
            await asyncio.sleep(0.3)
            reading = asyncio.create_task(_read_events(response, 2))
            slow = engine.connect()
            transaction = slow.begin()
            store.record_signals(slow, [signal(monitor, key="slow")])  # the lower id
            _record(engine, signal(monitor, key="fast"))
            await asyncio.sleep(0.5)  # the stream has sent "fast" by now
            transaction.commit()
            slow.close()
            return await asyncio.wait_for(reading, 5)

    events = asyncio.run(scenario())
    engine.dispose()
    assert [e["data"]["alert"]["key"] for e in events] == ["fast", "slow"]
    assert int(events[0]["id"]) == int(events[1]["id"]) + 1


def test_streams_end_when_the_server_stops_them(settings: Settings, engine: sa.Engine) -> None:
    app = create_app(settings, engine=engine)

    async def scenario() -> float:
        async with (
            serve(app) as url,
            httpx.AsyncClient(base_url=url, timeout=10, headers=bearer(engine)) as client,
            client.stream("GET", "/api/alerts/stream") as response,
        ):
            await asyncio.sleep(0.3)
            start = time.monotonic()
            stop_streams(app)
            async for _line in response.aiter_lines():
                pass  # the comment sent on connecting; then the stream ends
            return time.monotonic() - start

    assert asyncio.run(scenario()) < 1.0
