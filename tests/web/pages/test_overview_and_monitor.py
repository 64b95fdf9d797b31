"""The overview and a monitor's page, for an analyst (everything, with the feed) and a viewer
(aggregates only: no post text anywhere, withheld numbers shown as "—")."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.web.app import create_app
from tests.support.accounts import bearer
from tests.web.pages.conftest import MARKER, Dashboard


def test_the_overview_lists_each_monitor_with_its_numbers(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/", headers=dashboard.headers("analyst"))
    assert page.status_code == 200
    assert f'href="/monitors/{dashboard.monitor_id}">Brand Eindhoven</a>' in page.text
    assert 'class="spark"' in page.text
    assert 'hx-get="/" hx-trigger="every 30s"' in page.text
    assert MARKER not in page.text  # the overview holds no post text for anyone


def test_the_overview_refresh_answers_only_the_list(dashboard: Dashboard) -> None:
    fragment = dashboard.client.get(
        "/", headers={**dashboard.headers("analyst"), "HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'class="monitor-list"' in fragment.text


def test_a_new_installation_explains_what_to_do(settings: Settings, engine: sa.Engine) -> None:
    client = TestClient(create_app(settings, engine=engine))
    analyst = client.get("/", headers=bearer(engine, "analyst"))
    assert "Nog geen monitors" in analyst.text
    assert 'href="/monitors/new"' in analyst.text
    viewer = client.get("/", headers=bearer(engine, "viewer"))
    assert "Nog geen monitors" in viewer.text
    assert 'href="/monitors/new"' not in viewer.text


def test_an_analyst_sees_charts_facets_and_the_feed(dashboard: Dashboard) -> None:
    page = dashboard.client.get(
        f"/monitors/{dashboard.monitor_id}",
        params={"range": "7d"},
        headers=dashboard.headers("analyst"),
    )
    assert page.status_code == 200
    assert '<a href="?range=7d" aria-current="true">7 dagen</a>' in page.text
    data = json.loads(re.search(r'id="chart-data">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert data["bucket"] == 3600
    assert len(data["x"]) == len(data["posts"])
    assert len(data["x"]) in (7 * 24, 7 * 24 + 1)  # the current hour may start a bucket
    assert 'id="feed"' in page.text
    assert f"{MARKER} brand bij het station" in page.text
    assert 'href="/monitors/new"' not in page.text


def test_the_feed_refreshes_and_filters_by_place(dashboard: Dashboard) -> None:
    analyst = dashboard.headers("analyst")
    feed = dashboard.client.get(f"/monitors/{dashboard.monitor_id}/feed", headers=analyst)
    assert feed.status_code == 200
    assert "<html" not in feed.text
    assert feed.text.count('class="post"') == 3
    narrowed = dashboard.client.get(
        f"/monitors/{dashboard.monitor_id}", params={"place": "GM0796"}, headers=analyst
    )
    assert 'class="chip chip-filter"' in narrowed.text
    assert 'aria-label="Plaatsfilter verwijderen"' in narrowed.text
    assert narrowed.text.count('class="post"') == 0


def test_a_viewer_sees_aggregates_and_no_post_text(dashboard: Dashboard) -> None:
    viewer = dashboard.headers("viewer")
    # The posts are from a week ago: 30 days holds them.
    page = dashboard.client.get(
        f"/monitors/{dashboard.monitor_id}", params={"range": "30d"}, headers=viewer
    )
    assert page.status_code == 200
    assert MARKER not in page.text
    assert 'id="feed"' not in page.text
    # Three matching posts by three authors: under the floor of five, so withheld.
    assert 'title="minder dan 5 auteurs"' in page.text
    assert (
        dashboard.client.get(f"/monitors/{dashboard.monitor_id}/feed", headers=viewer).status_code
        == 403
    )
    overview = dashboard.client.get("/", headers=viewer)
    assert MARKER not in overview.text


def test_an_unknown_monitor_is_a_friendly_404(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/monitors/999", headers=dashboard.headers("analyst"))
    assert page.status_code == 404
    assert "Deze monitor bestaat niet (meer)" in page.text
