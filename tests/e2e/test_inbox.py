"""The staff inbox end to end, in real Chromium against a real `stadspuls run`: a citizen reports
waste through /melden, an analyst of Wijkzaken finds it routed to her department, takes it,
answers it from a reviewed template, and the citizen's status page shows the answer; a report to
a department that is closed now shows the automatic out-of-hours reply in the case's history.
Screenshots of /cases (desktop and phone) and a case's page go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from stadspuls.access.roles import cli_actor
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.records import OfficeHours, OpeningSpan, ReplyTemplate, RoutingRule
from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from tests.e2e.conftest import PASSWORD, Dashboard, _chromium
from tests.support.inbox import ALWAYS, department

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.timeout(240)

ANSWER = "Beste melder, het grofvuil in de Kerkstraat wordt morgen opgehaald."
# Open on Sunday mornings only: closed whenever the test runs on another day or hour.
SUNDAY_MORNINGS = OfficeHours(week={6: (OpeningSpan(start=time(6), end=time(6, 30)),)})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A server with Wijkzaken (always open, takes waste) and Verkeer (closed now, takes
    traffic), both with anna as a member, and a reviewed reply template of Wijkzaken."""
    _chromium()
    root = tmp_path_factory.mktemp("inbox")
    running = Dashboard(root)
    running.env["STADSPULS_INBOX__MEDIA_DIR"] = str(root / "media")
    running.add_user("anna", "analyst")
    engine = open_store(running.db)
    try:
        wijk = department(engine, "wijkzaken", "Wijkzaken", hours=ALWAYS, members=("anna",))
        nacht = department(engine, "verkeer", "Verkeer", hours=SUNDAY_MORNINGS, members=("anna",))
        assert wijk.id is not None
        assert nacht.id is not None
        admin = CaseAdmin(engine, Settings(db_url=running.db))
        admin.ensure_fallback()
        boss = cli_actor("beheer")
        admin.save_rule(
            boss, RoutingRule(department_id=wijk.id, name="Afval", categories=("afval",))
        )
        admin.save_rule(
            boss, RoutingRule(department_id=nacht.id, name="Verkeer", categories=("verkeer",))
        )
        template = admin.save_template(
            boss,
            ReplyTemplate(
                name="opgehaald", department_id=wijk.id, subject="Uw melding {referentie}",
                body=ANSWER + "\n\nMet vriendelijke groet,\n{afdeling}",
            ),
        )  # fmt: skip
        assert template.id is not None
        admin.review_template(cli_actor("communicatie"), template.id)
    finally:
        engine.dispose()
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _photos(folder: Path) -> list[Path]:
    """Two near-identical JPEGs (the second a smaller copy), taken three days ago by their
    EXIF: the case page groups them and says the capture time is before the report."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (1600, 1200), (120, 150, 190))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((200, 700, 1400, 1150), fill=(90, 80, 70))
    draw.ellipse((600, 200, 1000, 600), fill=(240, 200, 60))
    draw.polygon([(300, 700), (800, 300), (1300, 700)], fill=(160, 40, 30))
    exif = Image.Exif()
    taken = datetime.now(UTC).astimezone(ZoneInfo("Europe/Amsterdam")) - timedelta(days=3)
    exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    first, second = folder / "kerkstraat-1.jpg", folder / "kerkstraat-2.jpg"
    picture.save(first, "JPEG", quality=90, exif=exif.tobytes())
    picture.resize((1200, 900)).save(second, "JPEG", quality=85, exif=exif.tobytes())
    return [first, second]


def _report(
    page: Page, server: Dashboard, category: str, text: str, photos: list[Path] | None = None
) -> str:
    """A tip through the public form, without an e-mail address; returns the status link."""
    page.goto(server.url + "/melden")
    page.check("#kind-tip")
    page.select_option("#category", category)
    page.fill("#text", text)
    page.fill("#address", "Kerkstraat 12, Eindhoven")
    if photos:
        page.set_input_files("#media", [str(path) for path in photos])
    page.check("#consent")
    page.click("form button[type=submit]")
    link = page.wait_for_selector("#status-url")
    assert link is not None
    href = link.get_attribute("href")
    assert href
    return href if href.startswith("http") else server.url + href


def _log_in(page: Page, server: Dashboard, target: str) -> None:
    page.goto(server.url + target)
    assert "/login" in page.url
    page.fill("#username", "anna")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server.url + target.split("?")[0]) + r".*"))


def _shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_a_report_is_routed_taken_and_answered_from_a_template(
    server: Dashboard, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    citizen = browser.new_page(viewport={"width": 390, "height": 844})
    text = "Grofvuil naast de container, al drie dagen."
    status_url = _report(citizen, server, "afval", text, _photos(tmp_path))

    staff = browser.new_page(viewport={"width": 1366, "height": 900})
    _log_in(staff, server, "/cases")
    row = staff.locator("tr.case-row", has_text="Grofvuil naast de container")
    assert "Wijkzaken" in row.inner_text()
    assert "niemand" in row.inner_text()
    _shot(staff, artifacts, "inbox-01-cases-list")
    row.locator("td.ref a").click()
    staff.wait_for_url(re.compile(r".*/cases/\d+$"))
    history = staff.inner_text(".history")
    assert "Gerouteerd naar Wijkzaken door regel 'Afval'" in history
    # The two photos: one group with its count, a thumbnail that loads, a finding in words.
    media = staff.inner_text("#media-title + .media-list")
    assert "2 bijna gelijke foto's" in media
    assert "3 dagen" in media
    assert staff.eval_on_selector(".media-item img", "img => img.naturalWidth") > 0

    # Take it: "me" is the first choice of the assign form.
    staff.select_option("#assignee", "me")
    staff.click("form[action$='/assign'] button[type=submit]")
    staff.wait_for_selector("#done")
    assert "Toegewezen aan anna" in staff.inner_text(".history")

    # Pick the template: the draft is filled in place, with its length and where it goes.
    staff.select_option("#template", "opgehaald")
    staff.wait_for_function("document.getElementById('body').value.includes('morgen opgehaald')")
    assert "Wijkzaken" in staff.input_value("#body")
    assert "Verschijnt op de statuspagina" in staff.inner_text("#goes-out")
    assert re.search(r"\d+ tekens", staff.inner_text("#body-count"))
    _shot(staff, artifacts, "inbox-02-case-reply-draft")
    staff.click(".reply-form button[type=submit]")
    staff.wait_for_selector("#done")
    assert ANSWER in staff.inner_text(".conversation")
    assert "Beantwoord" in staff.inner_text(".case-head")
    _shot(staff, artifacts, "inbox-03-case-answered")

    citizen.goto(status_url)
    assert ANSWER in citizen.inner_text("main")

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    _log_in(phone, server, "/cases?tab=answered")
    assert "Grofvuil naast de container" in phone.inner_text("main")
    _shot(phone, artifacts, "inbox-04-cases-list-phone")
    for page in (citizen, staff, phone):
        page.close()


def test_a_report_outside_office_hours_shows_the_auto_reply_in_the_history(
    server: Dashboard, browser: Browser, artifacts: Path
) -> None:
    # The duty officer has the list open, at night (dark theme), when the report comes in:
    # it appears without a reload.
    staff = browser.new_page(viewport={"width": 1366, "height": 900}, color_scheme="dark")
    _log_in(staff, server, "/cases")
    citizen = browser.new_page()
    status_url = _report(citizen, server, "verkeer", "Verkeerslicht op de kruising staat op rood.")
    row = staff.wait_for_selector("tr.case-row:has-text('Verkeerslicht')", timeout=40_000)
    assert row is not None
    assert "Verkeer" in row.inner_text()
    _shot(staff, artifacts, "inbox-05-cases-list-dark")
    staff.click("tr.case-row:has-text('Verkeerslicht') td.ref a")
    staff.wait_for_url(re.compile(r".*/cases/\d+$"))
    history = staff.inner_text(".history")
    assert "Gerouteerd naar Verkeer door regel 'Verkeer'" in history
    assert "Automatisch antwoord buiten kantoortijd verstuurd" in history
    # The reply itself is in the conversation, and on the citizen's status page.
    conversation = staff.inner_text(".conversation")
    assert "112" in conversation
    _shot(staff, artifacts, "inbox-06-case-out-of-hours-dark")
    citizen.goto(status_url)
    assert "112" in citizen.inner_text("main")
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    _log_in(phone, server, staff.url.removeprefix(server.url))
    assert "Automatisch antwoord buiten kantoortijd" in phone.inner_text(".history")
    _shot(phone, artifacts, "inbox-07-case-phone")
    for page in (citizen, staff, phone):
        page.close()
