"""The inbox settings in real Chromium against a real `stadspuls run`: the rules page answering
a test message, a template's live preview (htmx, with the CSRF token) and a call's page with its
link, QR code and the posts its monitor matched. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from stadspuls.cli.main import main
from tests.e2e.conftest import ARTIFACTS, PASSWORD, Dashboard, _chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.timeout(180)


class InProcess(Dashboard):
    """The set-up commands run in this process (a subprocess each costs seconds of imports);
    only the server is a process of its own."""

    def cli(self, *args: str, stdin: str | None = None) -> str:
        keys = ("STADSPULS_KEY_FILE", "STADSPULS_ENRICHERS", "STADSPULS_DOOR_PROCESS")
        env = {key: self.env[key] for key in keys}
        done = CliRunner().invoke(main, [*args, "--db", self.db], input=stdin, env=env)
        assert done.exit_code == 0, f"stadspuls {' '.join(args)}: {done.output}"
        return done.output


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    _chromium()
    running = InProcess(tmp_path_factory.mktemp("inbox-admin"))
    running.add_user("beheer", "admin")
    running.add_user("ana", "analyst")
    posts = running.root / "posts.csv"
    now = datetime.now(UTC).replace(microsecond=0)
    posts.write_text(
        "id,text,created_at,author\n"
        + "".join(
            f"p{i},Rook boven de Stationsstraat in Eindhoven ({i}),"
            f"{(now - timedelta(minutes=30 - i)).isoformat()},getuige{i}\n"
            for i in range(6)
        ),
        encoding="utf-8",
    )
    running.cli("ingest", str(posts), "--quiet", "--purpose", "test", "--basis", "public-task",
                "--retention-days", "30")  # fmt: skip
    running.cli("monitor", "add", "stationsstraat", "stationsstraat", "--purpose", "brand",
                "--basis", "public-task")  # fmt: skip
    running.cli("inbox", "department", "add", "afval", "Afval en reiniging",
                "--hours", "mon-fri 08:30-17:00")  # fmt: skip
    running.cli("inbox", "department", "add", "politie", "Politie Eindhoven", "--always-open")
    running.cli("inbox", "department", "members", "politie", "ana")
    running.cli("inbox", "department", "members", "afval", "ana")
    running.cli("inbox", "rule", "add", "Brand en rook", "--department", "politie",
                "--query", 'brand OR rook OR "rook gezien"')  # fmt: skip
    running.cli("inbox", "rule", "add", "Afval Eindhoven", "--department", "afval",
                "--query", "afval OR vuilnis OR container*", "--place", "Eindhoven")  # fmt: skip
    running.cli("inbox", "rule", "add", "Engelstalig", "--department", "politie",
                "--language", "en")  # fmt: skip
    running.cli("inbox", "call", "add", "brand-stationsstraat",
                "Getuigen gezocht: brand Stationsstraat, 30 november", "--department", "politie",
                "--monitor", "stationsstraat", "--starts", (now - timedelta(hours=1)).isoformat(),
                "--incident-at", (now - timedelta(hours=2)).isoformat(),
                "--lat", "51.4416", "--lon", "5.4697",
                "--question", "gezien!:text:Wat zag u?",
                "--question", "waar:choice:Waar stond u?:Noordzijde|Zuidzijde|Op het station",
                "--question", "foto:photo:Heeft u foto's of video's?")  # fmt: skip
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(_chromium()))
        try:
            yield launched
        finally:
            launched.close()


def _log_in(page: Page, server: Dashboard, name: str, target: str) -> None:
    page.goto(server.url + target)
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server.url + target.split("?")[0]) + r".*"))


def _shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_rules_page_answers_a_test_message(server: Dashboard, chromium: Browser) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, server, "beheer", "/inbox/settings/rules")
    page.fill("#t-subject", "Container vol")
    page.fill(
        "#t-text", "De containers bij de Vestdijk in Eindhoven puilen uit, vuilnis op straat."
    )
    page.fill("#t-category", "afval")
    page.click("section[aria-labelledby=test-heading] button[type=submit]")
    page.wait_for_selector("tr.fired")
    fired = page.inner_text("tr.fired")
    assert "Afval Eindhoven" in fired
    decision = page.inner_text(".decision")
    assert "Gaat naar: Afval en reiniging" in decision
    assert "regel 'Afval Eindhoven': zoekvraag 'afval OR vuilnis OR container*'" in decision
    assert "gemeente GM0772" in decision
    _shot(page, "inbox-admin-rules-test")
    page.goto(server.url + "/inbox/settings")
    assert "ma–vr 08:30–17:00; feestdagen gesloten" in page.inner_text("table")
    assert "dag en nacht geopend" in page.inner_text("table")
    _shot(page, "inbox-admin-departments")
    page.click("text=Afval en reiniging")
    assert page.input_value("#day-0") == "08:30-17:00"
    assert page.is_checked("input[name=members]")
    _shot(page, "inbox-admin-department-form")
    page.goto(server.url + "/inbox/settings/rules")
    # The order changes with the arrow buttons, without JavaScript.
    page.click("tr#rule-3 button[aria-label*='omhoog']")
    page.wait_for_url(re.compile(r".*/inbox/settings/rules.*"))
    first = page.inner_text("tbody tr:first-child")
    assert "Brand en rook" in first
    rows = page.locator("tbody tr th").all_inner_texts()
    assert rows[1].startswith("Engelstalig")
    phone = chromium.new_page(viewport={"width": 390, "height": 844})
    _log_in(phone, server, "ana", "/inbox/settings/rules?text=Rook+gezien+bij+het+station")
    assert "Politie Eindhoven" in phone.inner_text(".decision")
    _shot(phone, "inbox-admin-rules-phone")
    page.close()
    phone.close()


def test_template_preview_follows_typing(server: Dashboard, chromium: Browser) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, server, "ana", "/inbox/settings/templates/new")
    page.fill("#name", "fietswrakken")
    page.select_option("#department_id", label="Afval en reiniging")
    page.fill("#subject", "Fietswrak ({referentie})")
    page.fill("#body", "{aanhef}\n\nWij halen het fietswrak binnen vijf werkdagen weg.\n\n"
                       "Vragen? Wij zijn open: {openingstijden}.")  # fmt: skip
    page.wait_for_function(
        "document.querySelector('#preview').innerText.includes('fietswrak binnen')"
    )
    _shot(page, "inbox-admin-template-preview")
    preview = page.inner_text("#preview")
    assert "Beste Jan Jansen," in preview
    assert "Fietswrak (SP-2026-000123)" in preview
    assert "ma–vr 08:30–17:00; feestdagen gesloten" in preview
    page.fill("#body", "Beste {voornaam},")
    page.wait_for_function("document.querySelector('#preview').innerText.includes('voornaam')")
    assert "onbekend invulveld {voornaam}" in page.inner_text("#preview")
    page.fill("#body", "{aanhef}\n\nWij halen het fietswrak binnen vijf werkdagen weg.")
    page.click("#template-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/settings/templates\?done=saved"))
    assert "wacht op controle" in page.inner_text("tbody")
    _shot(page, "inbox-admin-templates")
    page.close()


def test_a_calls_page_with_link_qr_and_posts(server: Dashboard, chromium: Browser) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, server, "ana", "/calls")
    page.click("text=Getuigen gezocht: brand Stationsstraat")
    page.wait_for_url(re.compile(r".*/calls/\d+$"))
    assert f"{server.url}/oproep/brand-stationsstraat" in page.inner_text(".link-box")
    qr = page.locator("figure.qr svg")
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 150
    posts = page.inner_text("section[aria-labelledby=posts-heading]")
    assert "Rook boven de Stationsstraat" in posts
    assert "Noordzijde · Zuidzijde · Op het station" in page.inner_text(
        "section[aria-labelledby=questions-heading]"
    )
    _shot(page, "inbox-admin-call")
    page.goto(server.url + "/calls/new")
    _shot(page, "inbox-admin-call-form")
    page.close()
