"""Answering a call-out by signed link: a GET shows the call-out and changes nothing (mail
scanners follow links); a POST records the answer, "arrived" after "accepted"; the service
worker's POST gets JSON; a forged or altered link is refused clearly and the site works on."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from stadspuls.access.roles import cli_actor
from stadspuls.records import utcnow
from stadspuls.store.schema import callouts
from stadspuls.volunteers.records import CallOut, Target
from tests.web.volunteers.conftest import Site

OPERATOR = cli_actor("meldkamer")


def called(site: Site) -> Target:
    """One confirmed volunteer at 3511, and a call-out there that selects them."""
    site.confirmed()
    made = site.callouts.create(
        OPERATOR,
        CallOut(
            title="Vermiste jongen",
            message="Kijk uit naar een jongen van 7 met een rode jas.",
            lat=52.0907,
            lon=5.1214,
            place_label="Utrecht",
            radius_km=10,
            wanted=5,
            expires_at=utcnow() + timedelta(hours=1),
        ),
    )
    assert made.id is not None
    targets = site.callouts.targets(OPERATOR, made.id)
    assert len(targets) == 1
    return targets[0]


def test_a_get_shows_the_call_out_and_records_nothing(site: Site) -> None:
    target = called(site)
    token = site.callouts.answer_token(target.id, "accepted")
    for _ in range(3):  # a scanner, a preview, the volunteer
        page = site.client.get(f"/vrijwilligers/antwoord/{token}")
        assert page.status_code == 200
    assert "Kijk uit naar een jongen van 7" in page.text
    assert "Ja, ik kom" in page.text
    assert site.callouts.targets(OPERATOR, target.callout_id)[0].answer is None


def test_accept_then_arrive(site: Site) -> None:
    target = called(site)
    token = site.callouts.answer_token(target.id, "accepted")
    accepted = site.client.post(f"/vrijwilligers/antwoord/{token}")
    assert accepted.status_code == 200
    assert "U hebt gezegd dat u komt" in accepted.text
    assert "Ik ben er" in accepted.text  # the next step is offered
    now = site.callouts.targets(OPERATOR, target.callout_id)[0]
    assert now.answer == "accepted"
    assert now.name == "Sanne"  # the operator may now address them
    arrived = site.callouts.answer_token(target.id, "arrived")
    assert site.client.post(f"/vrijwilligers/antwoord/{arrived}").status_code == 200
    assert site.callouts.targets(OPERATOR, target.callout_id)[0].answer == "arrived"


def test_the_service_worker_gets_json(site: Site) -> None:
    target = called(site)
    token = site.callouts.answer_token(target.id, "declined")
    answer = site.client.post(
        f"/vrijwilligers/antwoord/{token}", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200
    assert answer.json()["answer"] == "declined"


def test_a_forged_link_is_refused_and_the_site_works_on(site: Site) -> None:
    target = called(site)
    token = site.callouts.answer_token(target.id, "accepted")
    altered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    for path in (f"/vrijwilligers/antwoord/{altered}", "/vrijwilligers/antwoord/niets"):
        shown = site.client.get(path)
        assert shown.status_code == 400
        assert "Deze link werkt niet" in shown.text
        posted = site.client.post(path)
        assert posted.status_code == 400
        as_json = site.client.post(path, headers={"Accept": "application/json"})
        assert as_json.status_code == 400
        assert "error" in as_json.json()
    assert site.callouts.targets(OPERATOR, target.callout_id)[0].answer is None
    assert site.client.post(f"/vrijwilligers/antwoord/{token}").status_code == 200


def test_the_service_worker_is_served_for_its_scope(site: Site) -> None:
    worker = site.client.get("/vrijwilligers/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "showNotification" in worker.text
    assert "notificationclick" in worker.text


def test_the_answer_page_in_english(site: Site) -> None:
    target = called(site)
    token = site.callouts.answer_token(target.id, "accepted")
    page = site.client.get(f"/vrijwilligers/antwoord/{token}?lang=en")
    assert page.status_code == 200
    assert 'lang="en"' in page.text
    assert "Yes, I am coming" in page.text
    assert "Never put yourself in danger" in page.text


def test_a_link_of_a_deleted_call_out_says_it_is_over(site: Site) -> None:
    target = called(site)
    token = site.callouts.answer_token(target.id, "accepted")
    with site.engine.begin() as conn:  # as the retention purge deletes an ended call-out
        conn.execute(sa.delete(callouts).where(callouts.c.id == target.callout_id))
    for answer in (site.client.get(f"/vrijwilligers/antwoord/{token}"),
                   site.client.post(f"/vrijwilligers/antwoord/{token}")):  # fmt: skip
        assert answer.status_code == 410
        assert "Deze link is verlopen" in answer.text
