"""Who gets which page: anonymous readers go to the login page and come back; a role without
the permission gets a friendly 403 page, not a JSON error."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.web.pages.conftest import Dashboard

PAGES = ["/", "/monitors/{id}", "/search?q=brand", "/monitors", "/monitors/new", "/governance"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_readers_are_sent_to_the_login_page(dashboard: Dashboard, path: str) -> None:
    wanted = path.format(id=dashboard.monitor_id)
    response = dashboard.client.get(wanted, follow_redirects=False)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [wanted]


@pytest.mark.parametrize("path", ["/search?q=brand", "/monitors", "/monitors/new", "/governance"])
def test_a_viewer_gets_a_friendly_403_page(dashboard: Dashboard, path: str) -> None:
    response = dashboard.client.get(path, headers=dashboard.headers("viewer"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Deze pagina is niet toegankelijk voor uw rol" in response.text
    assert 'href="/"' in response.text


def test_navigation_shows_what_the_role_allows(dashboard: Dashboard) -> None:
    viewer = dashboard.client.get("/monitors/new?lang=en", headers=dashboard.headers("viewer"))
    nav = viewer.text.split('class="mainnav"')[1].split("</nav>")[0]
    assert ">Overview<" in nav
    assert ">Map<" in nav
    assert ">Search<" not in nav
    assert ">Governance<" not in nav
    assert ">Users<" not in nav
    admin = dashboard.client.get("/monitors?lang=en", headers=dashboard.headers("admin"))
    nav = admin.text.split('class="mainnav"')[1].split("</nav>")[0]
    for label in ("Overview", "Alerts", "Search", "Map", "Monitors", "Governance", "Users"):
        assert f">{label}<" in nav
    assert 'aria-current="page">Monitors<' in nav


def test_the_layout_carries_the_csrf_token_and_a_logout_form(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    page = client.get("/monitors")
    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf}"}}\'' in page.text
    assert '<form method="post" action="/logout"' in page.text
    assert f'name="csrf" value="{csrf}"' in page.text
    assert "analyst-web" in page.text
    assert 'class="skip-link" href="#main"' in page.text


def test_static_files_are_served_from_the_package(dashboard: Dashboard) -> None:
    htmx = dashboard.client.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text
    assert "max-age" in htmx.headers["cache-control"]
    css = dashboard.client.get("/static/css/stadspuls.css")
    assert css.status_code == 200
    assert "--accent" in css.text
    assert css.headers["cache-control"] == "no-cache"


def test_a_refresh_after_the_session_ended_sends_the_page_to_the_login(
    dashboard: Dashboard,
) -> None:
    fragment = dashboard.client.get(
        f"/monitors/{dashboard.monitor_id}/feed",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://testserver/monitors/{dashboard.monitor_id}?range=7d",
        },
        follow_redirects=False,
    )
    assert fragment.status_code == 401
    wanted = f"/monitors/{dashboard.monitor_id}?range=7d"
    assert fragment.headers["HX-Redirect"] == f"/login?next={quote(wanted, safe='')}"


def test_the_language_switch_keeps_the_page_and_its_query(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/search?q=brand", headers=dashboard.headers("analyst"))
    assert 'href="/search?q=brand&amp;lang=en" hreflang="en"' in page.text
