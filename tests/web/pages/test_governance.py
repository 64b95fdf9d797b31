"""Governance: the register for analysts and admins; the audit and retention logs for admins."""

from __future__ import annotations

import re
from html import unescape

from tests.web.pages.conftest import Dashboard


def test_an_admin_reads_register_models_and_audit_log(dashboard: Dashboard) -> None:
    admin = dashboard.headers("admin")
    dashboard.client.get("/search", params={"q": "brand"}, headers=admin)
    page = dashboard.client.get("/governance", headers=admin)
    assert page.status_code == 200
    register = page.text.split('id="register-h"')[1].split("</section>")[0]
    assert "Brand Eindhoven" in register
    assert "test: fires in Eindhoven" in register
    assert "Publieke taak" in register
    assert ">setup<" in register
    assert 'id="models-h"' in page.text
    assert "Modelkaart" in page.text
    audit = page.text.split('id="audit-h"')[1].split("</section>")[0]
    assert "<code>posts.view</code>" in audit
    assert "<code>brand</code>" in audit
    assert 'href="/api/audit.csv"' in audit
    assert 'href="/api/governance/algoritmeregister"' in page.text
    assert 'id="retention-h"' in page.text


def test_the_audit_log_filters_and_pages(dashboard: Dashboard) -> None:
    admin = dashboard.headers("admin")
    for _ in range(3):
        dashboard.client.get("/search", params={"q": "rook*"}, headers=admin)
    page = dashboard.client.get(
        "/governance", params={"who": "admin", "action": "posts.view"}, headers=admin
    )
    audit = page.text.split('id="audit-h"')[1].split("</section>")[0]
    assert "3 regels" in audit
    assert "monitor.add" not in audit.split("<tbody>")[1]
    link = 'href="/api/audit.csv?user=admin&amp;action=posts.view"'
    assert link in audit
    # The link answers with the same entries, as CSV.
    csv = dashboard.client.get(
        "/api/audit.csv", params={"user": "admin", "action": "posts.view"}, headers=admin
    )
    assert csv.status_code == 200
    assert len(csv.text.strip().splitlines()) == 1 + 3
    nobody = dashboard.client.get("/governance", params={"who": "nobody"}, headers=admin)
    assert "Geen regels gevonden." in nobody.text


def test_an_analyst_sees_the_register_but_not_the_audit_log(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/governance", headers=dashboard.headers("analyst"))
    assert page.status_code == 200
    assert "Brand Eindhoven" in page.text
    assert 'id="audit-h"' not in page.text
    assert 'id="retention-h"' not in page.text


def test_a_date_filter_is_a_local_day_in_the_page_and_the_export(dashboard: Dashboard) -> None:
    admin = dashboard.headers("admin")
    page = dashboard.client.get(
        "/governance", params={"since": "2020-01-01", "until": "2020-01-31"}, headers=admin
    )
    assert "Geen regels gevonden." in page.text
    link = re.search(r'href="(/api/audit\.csv\?[^"]+)"', page.text)
    assert link is not None
    url = unescape(link.group(1))
    assert "since=2020-01-01T00%3A00%3A00%2B01%3A00" in url
    assert "until=2020-02-01T00%3A00%3A00%2B01%3A00" in url
    exported = dashboard.client.get(url, headers=admin)
    assert exported.status_code == 200
    assert len(exported.text.strip().splitlines()) == 1  # the header only
