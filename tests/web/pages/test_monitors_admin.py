"""Monitors admin: the list, create and edit forms with purpose, legal basis and retention
required, the query's error at its column, CSRF on every form, and delete."""

from __future__ import annotations

from stadspuls.enrich.incident import LABELS
from stadspuls.records import DETECTORS, LEGAL_BASES
from stadspuls.store import audit
from stadspuls.store.alert_rules import get_rules
from stadspuls.store.monitors import find_monitor, get_monitor
from stadspuls.web.pages.catalogue import INCIDENT_LABELS, LEGAL_BASIS_LABELS
from tests.web.pages.conftest import Dashboard

VALID = {
    "name": "Carnaval Stratumseind",
    "query": "carnaval OR brand",
    "places": "Eindhoven",
    "purpose": "publieksveiligheid tijdens carnaval",
    "legal_basis": "public-task",
    "retention_days": "14",
    "active": "1",
}


def test_the_labels_cover_every_legal_basis_and_incident_type() -> None:
    assert set(LEGAL_BASIS_LABELS) == set(LEGAL_BASES)
    assert set(INCIDENT_LABELS) == set(LABELS)


def test_the_list_links_to_each_monitor_and_its_edit_form(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/monitors", headers=dashboard.headers("analyst"))
    assert page.status_code == 200
    assert "Brand Eindhoven" in page.text
    assert f'href="/monitors/{dashboard.monitor_id}/edit"' in page.text
    assert "Publieke taak (AVG art. 6 lid 1 sub e)" in page.text


def test_search_prefills_the_create_form(dashboard: Dashboard) -> None:
    page = dashboard.client.get(
        "/monitors/new",
        params={"query": 'brand "grote rook"'},
        headers=dashboard.headers("analyst"),
    )
    assert page.status_code == 200
    assert "brand &#34;grote rook&#34;</textarea>" in page.text
    for basis in LEGAL_BASES:
        assert f'<option value="{basis}"' in page.text


def test_a_form_without_its_csrf_token_is_refused(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    refused = client.post("/monitors/new", data=VALID)
    assert refused.status_code == 403
    assert find_monitor(dashboard.engine, VALID["name"]) is None
    saved = client.post("/monitors/new", data={**VALID, "csrf": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    monitor = find_monitor(dashboard.engine, VALID["name"])
    assert monitor is not None
    assert saved.headers["location"] == f"/monitors/{monitor.id}"
    assert monitor.owner == "analyst-web"
    assert monitor.places == ("Eindhoven",)
    assert monitor.retention_days == 14
    _, entries = audit.list_entries(dashboard.engine, actions=["monitor.add"])
    assert entries[0].actor == "analyst-web"


def test_purpose_legal_basis_and_retention_are_required(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    empty = {**VALID, "purpose": " ", "legal_basis": "", "retention_days": "0", "csrf": csrf}
    page = client.post("/monitors/new", data=empty)
    assert page.status_code == 422
    assert page.text.count("Dit veld is verplicht.") == 2  # purpose and legal basis
    assert "Vul een aantal dagen in van 1 tot 3650." in page.text
    assert "De monitor is niet opgeslagen." in page.text
    # What was typed is kept.
    assert 'value="Carnaval Stratumseind"' in page.text
    assert find_monitor(dashboard.engine, VALID["name"]) is None


def test_an_invalid_query_is_shown_at_its_column_then_fixed(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    bad = client.post("/monitors/new", data={**VALID, "query": "carnaval OR", "csrf": csrf})
    assert bad.status_code == 422
    assert "Kolom 12:" in bad.text
    assert 'aria-describedby="query-error"' in bad.text
    good = client.post("/monitors/new", data={**VALID, "csrf": csrf}, follow_redirects=False)
    assert good.status_code == 303


def test_a_handle_in_the_query_needs_a_reason_and_the_grant(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    data = {**VALID, "query": "brand @wachtpost", "csrf": csrf}
    no_reason = client.post("/monitors/new", data=data)
    assert no_reason.status_code == 422
    assert "Dit veld is verplicht." in no_reason.text
    no_grant = client.post("/monitors/new", data={**data, "reason": "incident 12"})
    assert no_grant.status_code == 422
    assert "vraagt het recht op herleiding" in no_grant.text
    assert find_monitor(dashboard.engine, VALID["name"]) is None


def test_edit_changes_the_monitor_and_delete_removes_it(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    form = client.get(f"/monitors/{dashboard.monitor_id}/edit")
    assert form.status_code == 200
    assert 'value="Brand Eindhoven"' in form.text
    assert "selected>Publieke taak" in form.text
    changed = {
        **VALID,
        "name": "Brand Eindhoven",
        "query": "brand OR rook*",
        "retention_days": "60",
        "csrf": csrf,
    }
    saved = client.post(
        f"/monitors/{dashboard.monitor_id}/edit", data=changed, follow_redirects=False
    )
    assert saved.status_code == 303
    monitor = get_monitor(dashboard.engine, dashboard.monitor_id)
    assert monitor is not None
    assert monitor.retention_days == 60
    assert monitor.owner == "setup"  # editing does not take the monitor over
    gone = client.post(
        f"/monitors/{dashboard.monitor_id}/delete", data={"csrf": csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert gone.headers["location"] == "/monitors"
    assert get_monitor(dashboard.engine, dashboard.monitor_id) is None
    assert client.get(f"/monitors/{dashboard.monitor_id}/edit").status_code == 404


def test_alert_rules_are_set_per_detector_on_the_edit_page(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    edit = client.get(f"/monitors/{dashboard.monitor_id}/edit")
    assert f'action="/monitors/{dashboard.monitor_id}/rules"' in edit.text
    assert edit.text.count('-sensitivity"') == len(DETECTORS)
    form: dict[str, str] = {"csrf": csrf}
    for detector in DETECTORS:
        form |= {
            f"{detector}-enabled": "1",
            f"{detector}-sensitivity": "1",
            f"{detector}-channels": "live",
        }
    del form["rumour-enabled"]
    form |= {"burst-sensitivity": "2,5", "burst-quiet": "23:00-07:00"}
    saved = client.post(
        f"/monitors/{dashboard.monitor_id}/rules", data=form, follow_redirects=False
    )
    assert saved.status_code == 303
    rules = {r.detector: r for r in get_rules(dashboard.engine, dashboard.monitor_id)}
    assert rules["burst"].sensitivity == 2.5
    assert rules["burst"].quiet_hours == "23:00-07:00"
    assert not rules["rumour"].enabled
    assert (
        client.get(saved.headers["location"]).text.count("De meldingsregels zijn opgeslagen.") == 1
    )


def test_a_refused_rule_keeps_what_was_typed(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    form = {"csrf": csrf, "burst-enabled": "1", "burst-sensitivity": "40", "burst-quiet": "laat"}
    refused = client.post(f"/monitors/{dashboard.monitor_id}/rules", data=form)
    assert refused.status_code == 422
    assert "De meldingsregels zijn niet opgeslagen." in refused.text
    assert 'name="burst-sensitivity" size="4"' in refused.text
    assert 'value="40"' in refused.text
    before = {r.detector: r for r in get_rules(dashboard.engine, dashboard.monitor_id)}
    assert before["burst"].sensitivity == 1.0
    assert (
        client.post(
            f"/monitors/{dashboard.monitor_id}/rules", data=form | {"csrf": "x"}
        ).status_code
        == 403
    )


def test_a_name_in_use_is_marked_at_the_name(dashboard: Dashboard) -> None:
    client, csrf = dashboard.session("analyst")
    taken = client.post("/monitors/new", data={**VALID, "name": "Brand Eindhoven", "csrf": csrf})
    assert taken.status_code == 422
    assert "Er bestaat al een monitor met deze naam; kies een andere naam." in taken.text
    assert 'aria-describedby="name-error"' in taken.text
