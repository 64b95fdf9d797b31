"""Registering on /vrijwilligers: with a postcode, a place or a point; the confirmation link
from the real e-mail; and every bad input the issue names answered next to its field, with the
form still filled in and the site still working afterwards."""

from __future__ import annotations

import re

import sqlalchemy as sa

from stadspuls.settings import Settings
from tests.support.http import closed_port
from tests.support.smtp_server import SmtpInbox
from tests.web.volunteers.conftest import Site, running_site


def errors_of(html: str) -> list[str]:
    """The messages next to the fields (not the summary at the top)."""
    found = re.findall(r'<p class="field-error" id="[^"]+">(.*?)</p>', html, re.S)
    return [re.sub(r"<[^>]+>", "", m).replace("⚠ ", "").strip() for m in found]


def test_the_page_explains_asks_consent_and_offers_every_choice(site: Site) -> None:
    page = site.client.get("/vrijwilligers")
    assert page.status_code == 200
    html = page.text
    assert 'lang="nl"' in html
    assert "Word vrijwilliger in uw buurt" in html
    assert "versleuteld" in html  # the consent text says the point is encrypted
    for code in ("first_aid", "cpr", "aed", "bhv", "care", "car", "lifting", "languages"):
        assert f'value="{code}"' in html
    assert 'name="radius_km"' in html
    assert 'type="range"' in html
    assert 'data-src="/static/map/gemeenten.json"' in html  # the offline map, no tiles
    assert "https://" not in re.sub(r'href="https?://[^"]*"', "", html)  # nothing fetched
    english = site.client.get("/vrijwilligers?lang=en").text
    assert "Become a volunteer nearby" in english


def test_register_with_a_postcode_and_confirm_from_the_email(site: Site) -> None:
    answer = site.register(where="3511 AB")
    assert answer.status_code == 303, errors_of(answer.text)
    assert answer.headers["location"] == "/vrijwilligers/controleer-mail"
    assert "Kijk in uw e-mail" in site.client.get(answer.headers["location"]).text
    assert site.mail.recipients == [["sanne@example.nl"]]
    assert site.volunteers.counts().get("pending") == 1
    confirm = site.links("bevestig")
    assert len(confirm) == 1
    # Opening the link (as a mail scanner does) confirms nothing; the button does.
    for _ in range(2):
        shown = site.client.get(confirm[0])
        assert shown.status_code == 200
        assert "Bevestig uw aanmelding" in shown.text
    assert site.volunteers.counts().get("pending") == 1
    landed = site.client.post(confirm[0])
    assert landed.status_code == 200
    assert "Uw e-mailadres is bevestigd" in landed.text
    assert site.volunteers.counts().get("active") == 1
    # The link is used up: a second press says so, and changes nothing.
    again = site.client.post(confirm[0])
    assert again.status_code in (400, 410)
    assert "Deze link" in again.text
    assert site.volunteers.counts().get("active") == 1


def test_register_with_a_place_and_with_a_point(site: Site) -> None:
    assert site.register(email="a@example.nl", where="Utrecht").status_code == 303
    point = site.register(email="b@example.nl", where="", lat="52.090700", lon="5.121400")
    assert point.status_code == 303, errors_of(point.text)
    assert site.volunteers.counts().get("pending") == 2


def test_an_unknown_postcode_is_refused_next_to_the_place_field(site: Site) -> None:
    answer = site.register(where="0000")
    assert answer.status_code == 422
    assert 'id="address-error"' in answer.text
    assert 'value="0000"' in answer.text  # what was typed is still there
    assert 'value="Sanne"' in answer.text
    assert site.mail.messages == []
    assert sum(site.volunteers.counts().values()) == 0
    # Nothing broke: the same visitor registers with a real postcode right after.
    assert site.register(where="3511").status_code == 303


def test_a_point_outside_the_netherlands_is_refused(site: Site) -> None:
    brussels = site.register(where="", lat="50.846700", lon="4.352500")
    assert brussels.status_code == 422
    assert 'id="address-error"' in brussels.text
    at_sea = site.register(where="", lat="53.0", lon="3.5")
    assert at_sea.status_code == 422
    assert sum(site.volunteers.counts().values()) == 0


def test_a_radius_of_zero_or_500_km_is_refused(site: Site) -> None:
    for radius in ("0", "500", "-3", "veel"):
        answer = site.register(radius_km=radius)
        assert answer.status_code == 422, radius
        assert 'id="radius_km-error"' in answer.text, radius
        assert f'value="{radius}"' in answer.text
    assert sum(site.volunteers.counts().values()) == 0


def test_a_second_registration_with_the_same_email_offers_the_manage_link(site: Site) -> None:
    site.confirmed()
    again = site.register(name="Iemand anders", where="Utrecht")
    assert again.status_code == 409
    assert "Dit e-mailadres is al aangemeld" in again.text
    assert 'action="/vrijwilligers/link"' in again.text
    assert sum(site.volunteers.counts().values()) == 1
    # The offered button mails the manage link to the address's owner, and only there.
    csrf = re.search(r'name="csrf" value="([^"]+)"', again.text)
    assert csrf is not None
    sent = site.client.post(
        "/vrijwilligers/link", data={"csrf": csrf.group(1), "email": "sanne@example.nl"}
    )
    assert sent.status_code == 200
    assert site.mail.recipients[-1] == ["sanne@example.nl"]
    assert len(site.links("ik")) == 1


def test_no_consent_no_name_bad_email_and_bad_hours_are_each_named(site: Site) -> None:
    answer = site.register(
        name="", email="geen-adres", consent="", availability="spans", **{"hours-2": "9 tot 5"}
    )
    assert answer.status_code == 422
    for field in ("name", "email", "consent", "hours-2"):
        assert f'id="{field}-error"' in answer.text, field
    assert "9 tot 5" in answer.text
    assert site.mail.messages == []


def test_a_form_without_its_token_is_refused_and_shown_again(site: Site) -> None:
    answer = site.register(csrf="vervalst")
    assert answer.status_code == 403
    assert 'value="Sanne"' in answer.text
    assert sum(site.volunteers.counts().values()) == 0


def test_the_manage_link_form_answers_the_same_for_an_unknown_address(site: Site) -> None:
    page = site.client.get("/vrijwilligers/link")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    unknown = site.client.post(
        "/vrijwilligers/link", data={"csrf": csrf.group(1), "email": "niemand@example.nl"}
    )
    assert unknown.status_code == 200
    assert "Kijk in uw e-mail" in unknown.text
    assert site.mail.messages == []
    bad = site.client.post("/vrijwilligers/link", data={"csrf": csrf.group(1), "email": "x"})
    assert bad.status_code == 422


def test_forms_that_send_mail_share_the_public_pages_limit_per_address(
    settings: Settings, engine: sa.Engine, smtp: tuple[SmtpInbox, int]
) -> None:
    with running_site(settings, engine, smtp, reports_per_address_hour=2) as site:
        assert site.register(email="a@example.nl").status_code == 303
        assert site.register(email="b@example.nl").status_code == 303
        third = site.register(email="c@example.nl")
        assert third.status_code == 429
        assert "retry-after" in third.headers
        assert len(site.mail.messages) == 2
        # A form with mistakes the page itself finds is answered before the limit: the visitor
        # still learns what to fix.
        assert site.register(email="d@example.nl", name="").status_code == 422


def test_a_mail_server_that_is_down_is_said_next_to_the_address(
    settings: Settings, engine: sa.Engine
) -> None:
    nobody = (SmtpInbox(), closed_port())  # nothing listens there
    with running_site(settings, engine, nobody) as site:
        answer = site.register()
        assert answer.status_code == 422
        assert 'id="email-error"' in answer.text
        assert 'value="sanne@example.nl"' in answer.text
        assert sum(site.volunteers.counts().values()) == 0  # taken back: it could never confirm
