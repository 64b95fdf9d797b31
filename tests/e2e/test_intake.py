"""The public intake end to end, in real Chromium on a phone-sized screen against a real
`stadspuls run`: a citizen sends a tip with two photos, sees the receipt and opens the status
link; a report with a mistake comes back with the error summary and the typed text kept.
Screenshots of the form (empty, with an error, filled) and the receipt go to test-artifacts/."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stadspuls.access.roles import cli_actor
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.records import Call, CallQuestion
from stadspuls.cases.service import CaseService
from stadspuls.enrich.pseudonymise import load_or_create_key
from stadspuls.sealed import Sealer
from stadspuls.settings import BlueskySettings, InboxSettings, Settings
from stadspuls.store.database import open_store
from tests.e2e.conftest import Dashboard
from tests.support.inbox import department
from tests.web.public.conftest import jpeg

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.timeout(180)

TEXT = "Bij de bushalte Stationsplein ligt een omgevallen boom over het fietspad."
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "nl-NL",
}


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A real server with its media and keys in its own directory."""
    from tests.e2e.conftest import _chromium

    _chromium()
    running = Dashboard(tmp_path_factory.mktemp("intake"))
    running.env["STADSPULS_INBOX__MEDIA_DIR"] = str(running.root / "media")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(**PHONE)  # type: ignore[arg-type]
    try:
        yield context
    finally:
        context.close()


def photos(folder: Path) -> list[Path]:
    paths = []
    for name, colour in (("boom-1.jpg", (40, 140, 40)), ("boom-2.jpg", (120, 80, 30))):
        path = folder / name
        path.write_bytes(jpeg(colour))
        paths.append(path)
    return paths


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


# The shipped map's projection (scripts/build_map.py), to find where Utrecht is drawn.
WEST, EAST, NORTH = 3.3583782521716445, 7.227388971370642, 53.5539756280043
UNIT = (EAST - WEST) / 1000
COS = math.cos(math.radians(52.2))
UTRECHT = (52.0907, 5.1214)  # Domplein


def pick_utrecht_on_the_map(page: Page) -> None:
    page.get_by_role("button", name="Kies op de kaart").click()
    page.wait_for_function("document.querySelectorAll('#map-picker path').length > 300")
    x = (UTRECHT[1] - WEST) / UNIT
    y = (NORTH - UTRECHT[0]) / (UNIT * COS)
    where = page.evaluate(
        """([x, y]) => {
            const svg = document.querySelector("#map-picker svg");
            svg.scrollIntoView({block: "center"});
            const point = svg.createSVGPoint();
            point.x = x; point.y = y;
            const screen = point.matrixTransform(svg.getScreenCTM());
            return [screen.x, screen.y];
        }""",
        [x, y],
    )
    page.touchscreen.tap(where[0], where[1])
    assert page.locator("#place").input_value() == "Utrecht"
    lat, lon = float(page.locator("#lat").input_value()), float(page.locator("#lon").input_value())
    # One screen pixel is about 0.01° on the whole country's map.
    assert abs(lat - UTRECHT[0]) < 0.03
    assert abs(lon - UTRECHT[1]) < 0.03
    assert "Punt gekozen: Utrecht" in page.locator("#point").inner_text()
    page.get_by_role("button", name="Inzoomen").click()
    page.get_by_role("button", name="Inzoomen").click()
    box = page.locator("#map-picker svg").get_attribute("viewBox") or ""
    assert float(box.split()[2]) == 250  # a quarter of the country's width, around the point


def server_settings(intake: Dashboard) -> Settings:
    return Settings(
        db_url=intake.db,
        key_file=intake.root / "pseudonym.key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
        inbox=InboxSettings(media_dir=intake.root / "media"),
    )


def service(intake: Dashboard) -> CaseService:
    settings = server_settings(intake)
    sealer = Sealer(load_or_create_key(settings.contact_key_path, "contact"))
    return CaseService(open_store(intake.db), settings, sealer=sealer)


def test_a_tip_with_two_photos_on_a_phone(
    intake: Dashboard, phone: BrowserContext, artifacts: Path, tmp_path: Path
) -> None:
    page = phone.new_page()
    page.goto(f"{intake.url}/melden")
    assert page.locator("h1").inner_text() == "Stel een vraag of doe een melding"
    shot(page, artifacts, "intake-empty")
    # Nothing wider than the screen, down to the narrowest phones.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size(PHONE["viewport"])  # type: ignore[arg-type]

    page.get_by_label("Een tip of melding").check()
    page.get_by_label("Waar gaat het over?").select_option("openbare-ruimte")
    page.get_by_label("Uw vraag of melding").fill(TEXT)
    page.get_by_label("Foto's of video's").set_input_files([str(p) for p in photos(tmp_path)])
    previews = page.locator("#media-list li")
    assert previews.count() == 2
    assert previews.nth(0).locator("img").count() == 1
    page.get_by_label("Adres of plaats").fill("Stationsplein 1, Utrecht")
    pick_utrecht_on_the_map(page)
    shot(page, artifacts, "intake-map")
    page.get_by_label("E-mailadres").fill("melder@example.nl")
    shot(page, artifacts, "intake-filled")

    # Forgot to agree: the form comes back with the summary first, and nothing lost.
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_by_label("Uw vraag of melding").input_value() == TEXT
    assert page.get_by_label("E-mailadres").input_value() == "melder@example.nl"
    shot(page, artifacts, "intake-error")
    page.locator("#error-summary a[href='#consent']").click()

    # The browser forgot the photos (it must): choose them again, remove one, add it back.
    page.get_by_label("Foto's of video's").set_input_files([str(p) for p in photos(tmp_path)])
    page.get_by_role("button", name="Verwijder: boom-2.jpg").click()
    assert page.locator("#media-list li:not(.visually-hidden)").count() == 1
    page.get_by_label("Foto's of video's").set_input_files([str(tmp_path / "boom-2.jpg")])
    assert page.locator("#media-list li:not(.visually-hidden)").count() == 2
    page.get_by_label(re.compile("Ik ga akkoord")).check()
    page.get_by_role("button", name="Versturen").click()

    page.wait_for_url(re.compile(r"/melden/bedankt\?ref="))
    assert "Bedankt, wij hebben uw melding ontvangen" in page.locator("h1").inner_text()
    reference = page.locator(".receipt .reference").inner_text()
    assert re.fullmatch(r"[A-Z]+-\d{4}-\d+", reference)
    assert page.get_by_role("heading", name="Bewaar deze link").is_visible()
    shot(page, artifacts, "intake-thanks")

    link = page.locator("#status-url")
    status_url = link.inner_text()
    link.click()
    page.wait_for_url(status_url)
    assert reference in page.locator("h1").inner_text()
    assert "Ontvangen: nog niet in behandeling" in page.content()
    shot(page, artifacts, "intake-status")

    cases = service(intake)
    (case,) = [c for c in cases.list_cases(cli_actor("e2e")) if c.reference == reference]
    assert (case.kind, case.category, case.media_count, case.has_contact) == (
        "tip",
        "openbare-ruimte",
        2,
        True,
    )
    assert case.lat is not None
    assert case.lon is not None
    assert abs(case.lat - UTRECHT[0]) < 0.03
    assert abs(case.lon - UTRECHT[1]) < 0.03
    view = cases.view(cli_actor("e2e"), case.id)
    assert sorted(m.filename for m in view.media) == ["boom-1.jpg", "boom-2.jpg"]


def test_a_question_sent_with_the_keyboard_alone(intake: Dashboard, phone: BrowserContext) -> None:
    """Tab through the form from the top: every stop shows its focus, the text is typed where
    the label says, and Enter on the button sends the report."""
    page = phone.new_page()
    page.goto(f"{intake.url}/melden")
    unfocused = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {id: el.id, tag: el.tagName, type: el.type || "",
                        outline: style.outlineStyle !== "none" && style.outlineWidth !== "0px"};
            }"""
        )
        if not focused["outline"]:
            unfocused.append(focused)
        if focused["id"] == "text":
            page.keyboard.type("Wanneer is het milieustraat open op zaterdag?")
        if focused["tag"] == "BUTTON" and focused["type"] == "submit":
            break
    else:
        raise AssertionError("the send button was not reached with Tab")
    assert unfocused == []
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/melden/bedankt\?ref="))
    assert page.locator("#status-url").is_visible()


def test_a_call_for_tips_on_a_phone(
    intake: Dashboard, phone: BrowserContext, artifacts: Path
) -> None:
    settings = server_settings(intake)
    engine = open_store(intake.db)
    wijk = department(engine, "politie-centrum", "Politie Centrum")
    assert wijk.id is not None
    CaseAdmin(engine, settings).save_call(
        cli_actor("e2e"),
        Call(
            slug="brand-stationsstraat",
            title="Getuigen gezocht: brand Stationsstraat, 12 mei",
            description="Heeft u de brand gezien of gefilmd? Elke tip helpt.",
            department_id=wijk.id,
            questions=(
                CallQuestion(key="plek", label="Waar stond u?", kind="choice",
                             choices=("Perron 1", "Stationsplein"), required=True),
                CallQuestion(key="tijd", label="Hoe laat was dat?", kind="time"),
            ),
            starts_at=datetime.now(UTC) - timedelta(hours=1),
        ),
    )  # fmt: skip
    engine.dispose()
    page = phone.new_page()
    page.goto(f"{intake.url}/oproep/brand-stationsstraat")
    assert "Getuigen gezocht" in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("Wat heeft u gezien of gehoord?").fill("Rook uit het dak, rond 14.30 uur.")
    page.get_by_label("Stationsplein").check()
    shot(page, artifacts, "intake-call")
    page.get_by_role("button", name="Verstuur uw tip").click()
    page.wait_for_url(re.compile(r"/melden/bedankt\?ref="))
    assert page.get_by_role("link", name="Nog een melding doen").get_attribute("href") == (
        "/oproep/brand-stationsstraat"
    )
    reference = page.locator(".receipt .reference").inner_text()
    (case,) = [c for c in service(intake).list_cases(cli_actor("e2e")) if c.reference == reference]
    assert (case.kind, case.answers["plek"], case.department_id) == (
        "tip",
        "Stationsplein",
        wijk.id,
    )
