"""The dashboard end to end, in real Chromium against a real server: log in through the form,
watch an alert arrive live in the open inbox (stored posts → linker → detector → alert → SSE)
and acknowledge it, read its evidence, see the map; a viewer sees no post text anywhere and the
API refuses them; an anonymous caller gets 401. Every page's screenshot is written to
test-artifacts/."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stadspuls.store.database import open_store
from stadspuls.store.monitors import find_monitor
from tests.e2e.conftest import PASSWORD, Dashboard

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.timeout(180)

MONITOR = "Brand Kerkstraat"
# Words only the stored posts contain: a viewer must never see them.
POST_TEXT = "loods in de Kerkstraat"


def _recording(path: Path) -> Path:
    """Two hours of everyday posts in Eindhoven and Utrecht, then a fire: 40 posts in two minutes
    by 9 witnesses (enough authors that a viewer may see the counts)."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=2)
    rows = ["id,text,created_at,author\n"]
    rows += [
        f"q{i},Rustige middag op de markt in {('Eindhoven', 'Utrecht')[i % 2]} {i},"
        f"{(start + i * timedelta(minutes=3)).isoformat()},buurt{i % 6}\n"
        for i in range(30)
    ]
    fire = now - timedelta(minutes=15)
    rows += [
        f"r{i},Rook en brand bij de {POST_TEXT} in Eindhoven ({i}) echt heel eng,"
        f"{(fire + i * timedelta(seconds=3)).isoformat()},getuige{i % 9}\n"
        for i in range(40)
    ]
    # Life goes on after the fire: the stream's clock moves past it.
    rows += [
        f"s{i},Weer rustig op de markt in Utrecht {i},"
        f"{(now - timedelta(minutes=8 - i)).isoformat()},buurt{i % 6}\n"
        for i in range(5)
    ]
    path.write_text("".join(rows), encoding="utf-8")
    return path


def _log_in(page: Page, dashboard: Dashboard, name: str, target: str) -> None:
    page.goto(dashboard.url + target)
    assert "/login" in page.url
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(dashboard.url + target.split("?")[0]) + r".*"))


def _shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def monitor_id(dashboard: Dashboard) -> int:
    """The monitor the analyst's walk creates through the form (made here when run alone)."""
    engine = open_store(dashboard.db)
    try:
        found = find_monitor(engine, MONITOR)
        if found is None:
            dashboard.cli(
                "monitor", "add", MONITOR, "kerkstraat", "--purpose", "brandweer en webcare",
                "--basis", "public-task", "--retention-days", "30",
            )  # fmt: skip
            found = find_monitor(engine, MONITOR)
    finally:
        engine.dispose()
    assert found is not None
    assert found.id is not None
    return found.id


def _create_monitor(page: Page, dashboard: Dashboard, artifacts: Path) -> int:
    """Through the monitors admin form: an invalid query first (the error at its column)."""
    page.goto(dashboard.url + "/monitors/new")
    page.fill("#name", MONITOR)
    page.fill("#query", "kerkstraat AND (")
    page.fill("#purpose", "Brandweer en webcare: incidenten in de binnenstad")
    page.select_option("#legal_basis", "public-task")
    page.fill("#retention_days", "30")
    page.click("form button[type=submit].button:not(.danger)")
    error = page.wait_for_selector("#query-error")
    assert error is not None
    message = error.inner_text()
    column = re.search(r"Kolom (\d+):", message)
    assert column, message
    caret = page.inner_text("#query-error .caret")
    assert len(caret) == int(column.group(1))  # the caret stands under that column
    assert caret.endswith("^")
    _shot(page, artifacts, "02-monitor-query-error")
    page.fill("#query", "kerkstraat")
    page.click("form button[type=submit].button:not(.danger)")
    page.wait_for_url(re.compile(r".*/monitors/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_an_analyst_creates_a_monitor_and_sees_posts_and_an_alert_arrive_live(
    dashboard: Dashboard, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    dashboard.add_user("anna", "analyst")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(dashboard.url + "/")
    _shot(page, artifacts, "01-login")
    _log_in(page, dashboard, "anna", "/")
    monitor = _create_monitor(page, dashboard, artifacts)
    feed = context.new_page()  # the monitor page, open in a second tab
    feed.goto(f"{dashboard.url}/monitors/{monitor}")
    assert POST_TEXT not in feed.inner_text("#feed")

    page.goto(dashboard.url + "/alerts")
    page.wait_for_selector('[data-live-status][data-state="live"]')
    assert page.is_visible("[data-empty]")
    # The sound cue is off until switched on, and stays on for this browser.
    assert page.get_attribute("[data-sound]", "aria-pressed") == "false"
    page.click("[data-sound]")
    page.reload()
    page.wait_for_selector('[data-live-status][data-state="live"]')
    assert page.get_attribute("[data-sound]", "aria-pressed") == "true"
    assert page.inner_text("[data-sound]").strip() == "Geluid aan"
    page.evaluate("window.__sameDocument = true")
    feed.evaluate("window.__sameDocument = true")

    # Another process stores the posts while the inbox is open (its exit is awaited below).
    background = ThreadPoolExecutor(max_workers=1)
    ingest = background.submit(dashboard.ingest, _recording(tmp_path / "r.csv"))
    first = page.wait_for_selector("article.alert", timeout=60_000)
    assert first is not None
    alert_id = int(first.get_attribute("data-id") or 0)
    # Updates replace the row as the surge goes on: find it by its id from here on.
    row = page.locator(f"#alert-{alert_id}")
    assert "alert-fresh" in (row.get_attribute("class") or "")  # the visual cue
    # No reload: the row came over the live stream into the same document.
    assert page.evaluate("window.__sameDocument") is True
    assert re.match(r"^\(\d+\) Meldingen", page.title()), page.title()
    assert page.is_hidden("[data-empty]")
    assert MONITOR in row.inner_text()
    open_count = int(page.inner_text('[data-count="open"]'))
    assert open_count >= 1
    _shot(page, artifacts, "04-alerts-inbox-live")
    ingest.result(timeout=120)  # raises if `stadspuls ingest` failed
    background.shutdown()

    # The monitor's feed refreshes itself (every 15 s) in the other tab.
    feed.wait_for_selector(f"#feed :text('{POST_TEXT}')", timeout=40_000)
    assert feed.evaluate("window.__sameDocument") is True
    _shot(feed, artifacts, "03-monitor")
    feed.goto(dashboard.url + "/")
    assert MONITOR in feed.inner_text("main")
    _shot(feed, artifacts, "00-overview")

    row.locator('[data-action="ack"]').click()
    page.wait_for_selector(f"#alert-{alert_id}", state="detached")
    assert page.inner_text('[data-count="acknowledged"]') == "1"
    assert int(page.inner_text('[data-count="open"]')) == open_count - 1

    page.goto(dashboard.url + "/alerts?tab=acknowledged")
    assert "bevestigd door anna" in page.inner_text(f"#alert-{alert_id}")
    page.goto(f"{dashboard.url}/alerts/{alert_id}")
    page.wait_for_selector(".chart canvas")
    assert POST_TEXT in page.inner_text("ol.posts")
    assert "Bevestigd · anna" in page.inner_text("ol.history")
    _shot(page, artifacts, "05-alert-detail")

    page.goto(f"{dashboard.url}/map?monitor={monitor}&range=24h")
    assert page.locator("svg.map-svg path[data-code]").count() >= 342
    eindhoven = page.locator('svg.map-svg path[data-code="GM0772"]')
    assert eindhoven.get_attribute("class") not in {"c0", "hatched"}
    assert "Gemeentegrenzen: CBS/PDOK, CC BY 4.0" in page.inner_text("main")
    _shot(page, artifacts, "06-map")
    # A municipality (a link: by keyboard too) leads to the monitor's feed filtered by it.
    page.focus('svg.map-svg a[data-code="GM0772"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/monitors/{monitor}\?place=GM0772.*"))
    assert POST_TEXT in page.inner_text("#feed")
    # The wall screen of a control room: 1920×1080, dark.
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.emulate_media(color_scheme="dark")
    page.goto(dashboard.url + "/alerts?tab=acknowledged&wall=1")
    page.wait_for_selector(f"#alert-{alert_id}")
    _shot(page, artifacts, "08-alerts-wall-dark")
    assert errors == []
    context.close()


def test_a_viewer_sees_no_post_text_and_the_api_refuses_them(
    dashboard: Dashboard, browser: Browser, artifacts: Path, monitor_id: int, tmp_path: Path
) -> None:
    if "Rook en brand" not in dashboard.cli("search", "kerkstraat"):
        dashboard.ingest(_recording(tmp_path / "recording.csv"))
    dashboard.add_user("victor", "viewer")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    page = context.new_page()
    _log_in(page, dashboard, "victor", f"/map?monitor={monitor_id}")
    _shot(page, artifacts, "07-map-viewer")
    for path in ("/", f"/map?monitor={monitor_id}", "/alerts", f"/monitors/{monitor_id}"):
        response = page.goto(dashboard.url + path)
        assert response is not None
        assert POST_TEXT not in page.content(), path
    assert page.goto(dashboard.url + "/alerts").status == 403  # type: ignore[union-attr]
    for api in ("/api/posts", f"/api/monitors/{monitor_id}/posts", "/api/alerts"):
        answer = page.request.get(dashboard.url + api)
        assert answer.status == 403, api
        assert POST_TEXT not in answer.text()
    context.close()


def test_anonymous_api_requests_get_401_and_pages_the_login(dashboard: Dashboard) -> None:
    for api in ("/api/posts", "/api/alerts", "/api/monitors"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(dashboard.url + api, timeout=10)
        assert refused.value.code == 401, api
        assert "log in" in json.loads(refused.value.read())["detail"]
    with urllib.request.urlopen(dashboard.url + "/health", timeout=10) as health:
        assert health.status == 200
