"""Search: results for analysts, the syntax error at its column, "save as monitor"."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from stadspuls.store import audit
from tests.web.pages.conftest import MARKER, MAYOR, Dashboard


def test_an_analyst_finds_posts_and_can_save_the_query(dashboard: Dashboard) -> None:
    page = dashboard.client.get(
        "/search", params={"q": "brand"}, headers=dashboard.headers("analyst")
    )
    assert page.status_code == 200
    assert page.text.count('class="post"') == 2
    assert f"{MARKER} brand bij het station" in page.text
    assert "2 berichten" in page.text
    assert 'href="/monitors/new?query=brand"' in page.text
    # Showing texts is a view of posts: it is in the audit log.
    total, entries = audit.list_entries(dashboard.engine, actions=["posts.view"])
    assert total >= 1
    assert entries[0].query == "brand"
    assert entries[0].posts == 2


def _caret_column(html: str) -> int:
    block = unescape(re.search(r"<pre[^>]*><code>(.*?)</code></pre>", html, re.S).group(1))  # type: ignore[union-attr]
    caret_line = block.splitlines()[1]
    caret_line = re.sub(r"<[^>]+>", "", caret_line)
    return caret_line.index("^") + 1


def test_a_syntax_error_is_shown_at_its_column(dashboard: Dashboard) -> None:
    page = dashboard.client.get(
        "/search", params={"q": "brand AND (rook"}, headers=dashboard.headers("analyst")
    )
    assert page.status_code == 200
    assert 'aria-invalid="true"' in page.text
    assert "Kolom 16:" in page.text
    assert _caret_column(page.text) == 16
    assert 'class="post"' not in page.text
    assert "Opslaan als monitor" not in page.text


def test_a_handle_needs_a_reason_and_the_grant(dashboard: Dashboard, engine: sa.Engine) -> None:
    plain = dashboard.client.get(
        "/search", params={"q": f"@{MAYOR}"}, headers=dashboard.headers("analyst")
    )
    assert "Zoeken op @naam vraagt het recht op herleiding." in plain.text
    granted = dashboard.headers("analyst", reidentify=True)
    asked = dashboard.client.get("/search", params={"q": f"@{MAYOR}"}, headers=granted)
    assert "Er is een reden nodig." in asked.text
    assert 'id="reason"' in asked.text
    answered = dashboard.client.get(
        "/search",
        params={"q": f"@{MAYOR}", "reason": "dreiging tegen station"},
        headers=granted,
    )
    assert f"{MARKER} dank aan @" in answered.text
    _, entries = audit.list_entries(engine, actions=["reidentify"])
    assert entries
    assert entries[0].reason == "dreiging tegen station"


def test_a_viewer_never_sees_post_text(dashboard: Dashboard) -> None:
    page = dashboard.client.get(
        "/search", params={"q": "brand"}, headers=dashboard.headers("viewer")
    )
    assert page.status_code == 403
    assert MARKER not in page.text
