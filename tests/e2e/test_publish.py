"""Publishing end to end, in real Chromium against a real `stadspuls run`: an author writes a
publication with an image and its alt text, sees the preview per channel follow her typing,
and submits it; an approver approves it; the public news page and its item show it with the
image's alt text. Screenshots of the compose page with its preview, the publication's page with
its history, the news page, and the news page on a phone go to test-artifacts/."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw

from tests.e2e.conftest import PASSWORD, Dashboard, _chromium
from tests.support.http import closed_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.timeout(240)

TITLE = "Kerkstraat afgesloten voor autoverkeer"
TEXT = (
    "Vanaf maandag 8 december is de Kerkstraat afgesloten voor autoverkeer: de riolering wordt "
    "vervangen. Fietsers en voetgangers kunnen er langs. De omleiding loopt via de Singel."
)
ALT = "Hekken en een omleidingsbord aan het begin van de Kerkstraat"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    _chromium()
    root = tmp_path_factory.mktemp("publish")
    running = Dashboard(root)
    running.env["STADSPULS_INBOX__MEDIA_DIR"] = str(root / "media")
    # The organisation's Mastodon account, on a port where nothing answers: its preview needs
    # no server, and a send finds the channel down (retried; the news page does not wait).
    token = root / "mastodon.token"
    token.write_text("e2e-token\n")
    running.env["STADSPULS_INBOX__MASTODON"] = json.dumps(
        {"base_url": f"http://127.0.0.1:{closed_port()}", "access_token_file": str(token)}
    )
    running.add_user("anna", "analyst")
    running.add_user("chef", "admin")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _photo(folder: Path) -> Path:
    """A street-like picture: a grey road, a red-and-white barrier."""
    image = Image.new("RGB", (960, 540), (120, 160, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 300, 960, 540), fill=(90, 90, 95))
    for x in range(200, 760, 80):
        draw.rectangle((x, 330, x + 40, 370), fill=(200, 30, 30))
        draw.rectangle((x + 40, 330, x + 80, 370), fill=(245, 245, 245))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    path = folder / "kerkstraat.jpg"
    path.write_bytes(out.getvalue())
    return path


def _log_in(page: Page, server: Dashboard, name: str, target: str) -> None:
    page.goto(server.url + target)
    assert "/login" in page.url
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server.url + target.split("?")[0]) + r".*"))


def _shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_compose_approve_and_read_the_news(
    server: Dashboard, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    author = browser.new_page(viewport={"width": 1366, "height": 900}, locale="nl-NL")
    _log_in(author, server, "anna", "/publicaties/nieuw")
    author.check("input[name=targets][value=mastodon]")
    author.fill("#title", TITLE)
    author.fill("#body", TEXT)
    # The preview follows the typing (htmx): the news channel's card shows the text and count.
    assert "Schrijf de tekst" in author.inner_text("#previews")
    author.wait_for_function(
        "document.querySelector('#previews').innerText.includes('via de Singel')"
    )
    preview = author.locator("#previews .preview-news")
    assert "De omleiding loopt via de Singel." in preview.inner_text()
    assert re.search(r"\d+ tekens", preview.inner_text())
    mastodon = author.locator("#previews .preview-mastodon")
    assert re.search(r"\d+ van 500 tekens", mastodon.inner_text())
    author.fill("#body", TEXT + " Vragen? Bel 14 030.")
    author.wait_for_function("document.querySelector('#previews').innerText.includes('Bel 14 030')")
    author.set_input_files("#image", str(_photo(tmp_path)))
    author.fill("#image_alt", ALT)
    _shot(author, artifacts, "publish-compose")
    author.click("button[name=action][value=submit]")
    author.wait_for_url(re.compile(r".*/publicaties/\d+\?done=submitted"))
    publication_url = author.url.split("?")[0]
    assert "Ter goedkeuring" in author.inner_text(".pagehead")
    assert author.locator(f"img[alt='{ALT}']").count() == 1

    approver = browser.new_page(viewport={"width": 1366, "height": 900}, locale="nl-NL")
    _log_in(approver, server, "chef", "/publicaties?tab=pending")
    assert TITLE in approver.inner_text(".pub-table")
    _shot(approver, artifacts, "publish-list")
    approver.click(f"text={TITLE}")
    approver.wait_for_url(publication_url)
    approver.click("form[action$='/goedkeuren'] button")
    approver.wait_for_url(re.compile(r".*\?done=published"))
    assert "Gepubliceerd" in approver.inner_text(".pagehead")
    # The outbox sends each channel on its own: the news page goes out, Mastodon is down and
    # waits for its next try, saying why.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        approver.reload()
        if (
            approver.locator(".delivery-sent").count()
            and approver.locator(".delivery-error").count()
        ):
            break
        time.sleep(1)
    news = approver.locator(".delivery", has_text="Nieuwspagina")
    assert "delivery-sent" in (news.get_attribute("class") or "")
    mastodon = approver.locator(".delivery", has_text="Mastodon")
    assert "delivery-sent" not in (mastodon.get_attribute("class") or "")
    assert mastodon.locator(".delivery-error").count() == 1
    history = approver.inner_text(".pub-history")
    assert "anna" in history
    assert "chef" in history
    _shot(approver, artifacts, "publish-detail")

    reader = browser.new_page(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    reader.goto(server.url + "/nieuws")
    assert TITLE in reader.inner_text("main")
    assert reader.locator(f"img[alt='{ALT}']").count() == 1
    # The image really loads (the stripped copy, served for a published item only).
    assert reader.evaluate(
        "Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)"
    )
    _shot(reader, artifacts, "news")
    reader.click(f"text={TITLE}")
    reader.wait_for_url(re.compile(r".*/nieuws/\d+-kerkstraat.*"))
    assert "De omleiding loopt via de Singel." in reader.inner_text("main")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="nl-NL")
    phone.goto(server.url + "/nieuws")
    # Nothing wider than the phone: no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(phone, artifacts, "news-phone")
