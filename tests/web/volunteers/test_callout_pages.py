"""The staff call-out screen: who may see it, a call-out made with a postcode, its live answers
(counts and targets, never a volunteer's point or a list of volunteers), asking more, closing,
and bad input answered on the form."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from stadspuls.access.roles import cli_actor
from stadspuls.store import alerts
from tests.alerts.factories import add_monitor, signal
from tests.support.login import add_user, csrf_of, login
from tests.web.volunteers.conftest import Site


@pytest.fixture
def operator(site: Site) -> TestClient:
    add_user(site.engine, "olga", "analyst")
    assert login(site.client, "olga").status_code == 303
    return site.client


def test_the_screen_needs_the_callouts_permission(site: Site) -> None:
    anonymous = site.client.get("/oproepen-vrijwilligers", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    add_user(site.engine, "victor", "viewer")
    assert login(site.client, "victor").status_code == 303
    assert site.client.get("/oproepen-vrijwilligers").status_code == 403
    assert site.client.get("/oproepen-vrijwilligers/1/live").status_code == 403
    page = site.client.get("/")
    assert "/oproepen-vrijwilligers" not in page.text  # no nav line without the permission


def test_a_call_out_from_a_postcode_shows_its_answers_live(
    site: Site, operator: TestClient
) -> None:
    # Two volunteers at points picked on the map, near the call-out's postcode.
    site.confirmed("a@example.nl", where="", lat="52.097310", lon="5.118840")
    site.confirmed("b@example.nl", where="", lat="52.081460", lon="5.140270")
    page = operator.get("/oproepen-vrijwilligers")
    assert page.status_code == 200
    assert 'href="/oproepen-vrijwilligers"' in page.text  # the nav line
    made = operator.post(
        "/oproepen-vrijwilligers",
        data={"csrf": csrf_of(page.text), "title": "Hittegolf: kijk bij oudere buren",
              "message": "Belt u aan bij oudere buren en biedt u water aan?", "where": "3511",
              "radius_km": "5", "wanted": "30", "expiry": "60", "skills": ["first_aid"]},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303, made.text
    detail = operator.get(made.headers["location"])
    assert detail.status_code == 200
    assert "Hittegolf: kijk bij oudere buren" in detail.text
    assert re.search(r'data-count="unanswered">2<', detail.text)
    assert "Sanne" not in detail.text  # no name before they accept
    # The call-out's own point is in its log; no volunteer's point is anywhere.
    for shown in (detail.text, operator.get("/oproepen-vrijwilligers").text):
        assert "52.0973" not in shown
        assert "5.1188" not in shown
        assert "52.0814" not in shown
        assert "5.1402" not in shown
    callout_id = int(made.headers["location"].rsplit("/", 1)[1])
    live = operator.get(f"/oproepen-vrijwilligers/{callout_id}/live")
    assert live.status_code == 200
    assert 'data-count="accepted">0<' in live.text
    # The nearest volunteer accepts by link: the live part shows it, with their name.
    nearest = site.callouts.targets(cli_actor("test"), callout_id)[0]
    assert nearest.rank == 1
    token = site.callouts.answer_token(nearest.id, "accepted")
    assert operator.post(f"/vrijwilligers/antwoord/{token}").status_code == 200
    live = operator.get(f"/oproepen-vrijwilligers/{callout_id}/live")
    assert 'data-count="accepted">1<' in live.text
    assert 'data-count="unanswered">1<' in live.text
    assert "Sanne" in live.text
    # Asking more finds nobody new (both were selected); closing ends it, logged.
    csrf = csrf_of(detail.text)
    more = operator.post(f"/oproepen-vrijwilligers/{callout_id}/uitbreiden",
                         data={"csrf": csrf, "more": "5"}, follow_redirects=False)  # fmt: skip
    assert more.status_code == 303
    closed = operator.post(
        f"/oproepen-vrijwilligers/{callout_id}/sluiten", data={"csrf": csrf, "note": "gevonden"}
    )
    assert closed.status_code == 200
    assert "Afgesloten" in closed.text
    # A second close (another operator's, a second tab) says why on the page.
    again = operator.post(
        f"/oproepen-vrijwilligers/{callout_id}/sluiten", data={"csrf": csrf, "note": ""}
    )
    assert again.status_code == 409
    assert 'class="form-errors"' in again.text
    more = operator.post(
        f"/oproepen-vrijwilligers/{callout_id}/uitbreiden", data={"csrf": csrf, "more": "5"}
    )
    assert more.status_code == 409
    log = operator.get(f"/oproepen-vrijwilligers/{callout_id}/log")
    assert log.status_code == 200
    for word in ("aangemaakt", "gekozen", "beantwoord", "gesloten"):
        assert word in log.text, word
    kinds = [e.kind for e in site.callouts.events(cli_actor("test"), callout_id)]
    assert kinds[0] == "created"
    assert "answered" in kinds
    assert kinds[-1] == "closed"


def test_bad_input_on_the_form(site: Site, operator: TestClient) -> None:
    page = operator.get("/oproepen-vrijwilligers")
    base = {"csrf": csrf_of(page.text), "title": "Test", "message": "Help",
            "radius_km": "2", "wanted": "30", "expiry": "60"}  # fmt: skip
    unknown = operator.post("/oproepen-vrijwilligers", data={**base, "where": "0000"})
    assert unknown.status_code == 422
    assert 'value="0000"' in unknown.text
    at_a_point = operator.post(
        "/oproepen-vrijwilligers",
        data={**base, "where": "", "lat": "52.0973", "lon": "5.1188", "place": ""},
        follow_redirects=False,
    )
    assert at_a_point.status_code == 303  # nobody to select, but a call-out all the same
    made = site.callouts.get(cli_actor("test"), int(at_a_point.headers["location"].split("/")[-1]))
    assert made.place_label == "Utrecht"  # the municipality, not the coordinates
    outside = operator.post(
        "/oproepen-vrijwilligers", data={**base, "where": "", "lat": "50.8467", "lon": "4.3525"}
    )
    assert outside.status_code == 422
    for radius in ("0", "500"):
        refused = operator.post(
            "/oproepen-vrijwilligers", data={**base, "where": "3511", "radius_km": radius}
        )
        assert refused.status_code == 422, radius
    empty = operator.post("/oproepen-vrijwilligers", data={**base, "title": "", "where": ""})
    assert empty.status_code == 422
    assert operator.get("/oproepen-vrijwilligers").status_code == 200
    forged = operator.post("/oproepen-vrijwilligers", data={**base, "csrf": "x", "where": "3511"})
    assert forged.status_code == 403


def test_a_call_out_from_an_alert_starts_with_its_place(site: Site, operator: TestClient) -> None:
    monitor = add_monitor(site.engine)
    with site.engine.begin() as conn:
        (alert_id,) = alerts.record_signals(
            conn, [signal(monitor, 0, summary="brand bij de kroeg", top_places=("Eindhoven",))]
        )
    alert_page = operator.get(f"/alerts/{alert_id}")  # links to a call-out near its place
    assert alert_page.status_code == 200
    assert f"/oproepen-vrijwilligers?alert={alert_id}" in alert_page.text
    form = operator.get(f"/oproepen-vrijwilligers?alert={alert_id}")
    assert form.status_code == 200
    assert 'name="where" value="Eindhoven"' in form.text
    assert f'name="alert_id" value="{alert_id}"' in form.text
    made = operator.post(
        "/oproepen-vrijwilligers",
        data={"csrf": csrf_of(form.text), "title": "Brand", "message": "Blijf uit de buurt.",
              "where": "Eindhoven", "alert_id": str(alert_id), "radius_km": "3",
              "wanted": "10", "expiry": "30"},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303, made.text
    callout_id = int(made.headers["location"].rsplit("/", 1)[1])
    callout = site.callouts.get(cli_actor("test"), callout_id)
    assert callout.alert_id == alert_id
    assert "Eindhoven" in callout.place_label
    # An alert that does not exist leaves the form empty rather than failing.
    assert operator.get("/oproepen-vrijwilligers?alert=999999").status_code == 200
