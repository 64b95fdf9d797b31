"""The alerts inbox and an alert's row, as pages: who may see them, what a row says, and how an
alert moves between the tabs when it is acknowledged and resolved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.records import Post, User
from stadspuls.settings import Settings
from stadspuls.store import alerts as store
from stadspuls.store import audit, users
from stadspuls.store.database import open_store
from stadspuls.store.writer import Batch, PostWriter
from stadspuls.web.app import create_app
from stadspuls.web.auth import CSRF_HEADER, SESSION_COOKIE
from stadspuls.web.routes.inbox import history
from tests.alerts.factories import add_monitor, signal
from tests.support.accounts import bearer


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    return open_store(f"sqlite:///{tmp_path / 'pages.db'}")


@pytest.fixture
def client(settings: Settings, engine: sa.Engine) -> TestClient:
    return TestClient(create_app(settings, engine=engine), follow_redirects=False)


def _alerts(engine: sa.Engine) -> tuple[int, int, int]:
    """Three alerts: a high burst on "stratumseind", a low story and a medium one on "markt"."""
    first = add_monitor(engine)
    second = add_monitor(engine, "markt")
    with engine.begin() as conn:
        ids = store.record_signals(
            conn,
            [
                signal(first, 0, severity="high", summary="brand bij de kroeg"),
                signal(second, 1, detector="story", severity="low", summary="verhaal"),
                signal(second, 2, detector="negative", severity="medium", summary="boos"),
            ],
        )
    assert len(set(ids)) == 3
    return ids[0], ids[1], ids[2]


def test_anonymous_readers_go_to_the_login_page_and_viewers_may_not_see_alerts(
    client: TestClient, engine: sa.Engine
) -> None:
    page = client.get("/alerts?tab=open")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Falerts%3Ftab%3Dopen"
    viewer = client.get("/alerts", headers=bearer(engine, "viewer"))
    assert viewer.status_code == 403
    assert "Geen toegang" in viewer.text
    assert client.get("/alerts/1/row", headers=bearer(engine, "viewer")).status_code == 403


def test_the_inbox_shows_each_open_alert_with_severity_monitor_and_numbers(
    client: TestClient, engine: sa.Engine
) -> None:
    burst, _story, _negative = _alerts(engine)
    page = client.get("/alerts", headers=bearer(engine, "analyst"))
    assert page.status_code == 200
    html = page.text
    assert html.count('<article class="alert') == 3
    row = html[html.index(f'id="alert-{burst}"') :]
    row = row[: row.index("</article>")]
    # Severity as colour (class), shape and word; the monitor; the detector; the numbers.
    assert "sev-high" in row
    assert "▲" in row
    assert "Hoog" in row
    assert "stratumseind" in row
    assert "Piek in volume" in row
    assert "brand bij de kroeg" in row
    assert "<strong>12</strong> waargenomen" in row
    assert "verwacht 1,5" in row  # Dutch decimal comma
    assert "vechtpartij" in row
    assert "Eindhoven" in row
    assert 'data-action="ack"' in row
    assert 'data-count="open">3<' in html
    english = client.get("/alerts?lang=en", headers=bearer(engine, "analyst"))
    assert "Volume burst" in english.text
    assert "Acknowledge" in english.text


def test_an_alert_moves_to_its_tab_when_acknowledged_and_resolved(
    client: TestClient, engine: sa.Engine
) -> None:
    burst, story, negative = _alerts(engine)
    analyst = bearer(engine, "analyst", name="anna")
    store.acknowledge(engine, burst, "anna", "ik kijk")
    store.resolve(engine, story, "anna", "niets aan de hand", false_alarm=True)

    def ids(tab: str) -> set[int]:
        html = client.get(f"/alerts?tab={tab}", headers=analyst).text
        return {i for i in (burst, story, negative) if f'id="alert-{i}"' in html}

    assert ids("open") == {negative}
    assert ids("acknowledged") == {burst}
    assert ids("resolved") == {story}
    resolved = client.get("/alerts?tab=resolved", headers=analyst).text
    assert "Vals alarm" in resolved
    assert 'aria-current="page"' in resolved

    row = client.get(f"/alerts/{burst}/row", headers=analyst)
    assert row.status_code == 200
    assert row.headers["X-Alert-Tab"] == "acknowledged"
    assert row.headers["X-Alert-Counts"] == "open=1,acknowledged=1,resolved=1"
    assert "bevestigd door anna" in row.text
    assert 'data-action="ack"' not in row.text
    assert 'data-action="resolve"' in row.text
    assert client.get("/alerts/999/row", headers=analyst).status_code == 404


def test_actions_act_as_the_signed_in_user_and_need_the_sessions_csrf_token(
    client: TestClient, engine: sa.Engine
) -> None:
    burst, story, _negative = _alerts(engine)
    user = users.create_user(engine, User(username="bram", role="analyst"), password_hash=None)
    assert user.id is not None
    cookie, csrf = users.create_session(engine, user.id, ttl_s=3600)
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.post(f"/alerts/{burst}/ack", json={"note": "kijk"}).status_code == 403
    viewer = bearer(engine, "viewer")
    assert client.post(f"/alerts/{burst}/ack", json={}, headers=viewer).status_code == 403
    headers = {CSRF_HEADER: csrf}
    assert (
        client.post(f"/alerts/{burst}/ack", json={"note": "ik kijk"}, headers=headers).status_code
        == 204
    )
    again = client.post(f"/alerts/{burst}/ack", json={}, headers=headers)
    assert again.status_code == 409
    assert "bram" in again.json()["detail"]
    assert (
        client.post(f"/alerts/{burst}/note", json={"note": "  "}, headers=headers).status_code
        == 422
    )
    assert (
        client.post(
            f"/alerts/{burst}/note", json={"note": "politie ter plaatse"}, headers=headers
        ).status_code
        == 204
    )
    assert client.post(f"/alerts/{story}/false_alarm", json={}, headers=headers).status_code == 204
    assert client.post("/alerts/999/resolve", json={}, headers=headers).status_code == 404
    acknowledged = store.get_alert(engine, burst)
    assert acknowledged is not None
    assert (acknowledged.state, acknowledged.acknowledged_by) == ("acknowledged", "bram")
    assert acknowledged.note == "politie ter plaatse"
    closed = store.get_alert(engine, story)
    assert closed is not None
    assert (closed.state, closed.closed_by) == ("false_alarm", "bram")
    kinds = [e.kind for e in store.alert_events_of(engine, burst)]
    assert kinds == ["opened", "acknowledged", "note"]


def test_the_alert_page_shows_its_evidence_and_the_view_of_post_texts_is_audited(
    client: TestClient, engine: sa.Engine
) -> None:
    monitor = add_monitor(engine)
    at = datetime.now(UTC) - timedelta(hours=1)
    posts = [
        Post(
            id=f"test:{n}",
            source="test",
            native_id=str(n),
            created_at=at + timedelta(seconds=n),
            text=f"vechtpartij bij de kroeg {n}",
            author_key=f"author{n}",
            lang="nl",
        )
        for n in range(3)
    ]
    writer = PostWriter(engine)
    writer.write(Batch(posts=posts))
    writer.close()
    with engine.begin() as conn:
        (alert_id,) = set(
            store.record_signals(
                conn, [signal(monitor, at=at, post_ids=tuple(p.id for p in posts))]
            )
        )
    analyst = bearer(engine, "analyst", name="anna")
    page = client.get(f"/alerts/{alert_id}", headers=analyst)
    assert page.status_code == 200
    html = page.text
    assert "Piek in volume: <a" in html
    assert "12 posts in 10 min" in html
    for post in posts:
        assert post.text in html
    assert 'id="chart-data"' in html
    chart = html.split('id="chart-data">')[1].split("</script>")[0]
    assert set(json.loads(chart)) >= {"x", "posts", "expected", "low", "high"}
    assert "Geopend" in html  # the history
    _total, viewed = audit.list_entries(engine, actions=["posts.view"])
    assert [(e.actor, e.posts, e.monitor_id) for e in viewed] == [("anna", 3, monitor)]
    assert client.get(f"/alerts/{alert_id}", headers=bearer(engine, "viewer")).status_code == 403
    missing = client.get("/alerts/999", headers=analyst)
    assert missing.status_code == 404
    assert "Melding 999 bestaat niet." in missing.text


def test_the_history_folds_a_surges_updates_into_one_line() -> None:
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    events: list[tuple[str, datetime, str | None]] = [("opened", at, None)]
    events += [("updated", at + timedelta(minutes=m), None) for m in range(1, 36)]
    events += [("acknowledged", at + timedelta(hours=1), "anna")]
    events += [("note", at + timedelta(hours=2), "anna"), ("note", at + timedelta(hours=3), "bram")]
    steps = history(events)
    assert [(s.kind, s.times, s.actor) for s in steps] == [
        ("note", 1, "bram"),
        ("note", 1, "anna"),
        ("acknowledged", 1, "anna"),
        ("updated", 35, None),
        ("opened", 1, None),
    ]
    assert (steps[3].first, steps[3].last) == (
        at + timedelta(minutes=1),
        at + timedelta(minutes=35),
    )
