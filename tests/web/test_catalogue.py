"""Every message the pages show has a Dutch translation, and `?lang=en` shows English.

Messages are extracted as `pybabel extract` would: Jinja2's Babel extractor over the templates,
Babel's Python extractor over the page modules (`_()`, `ngettext()`, `N_()`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from jinja2.ext import babel_extract

from stadspuls.settings import Settings
from stadspuls.web import i18n
from stadspuls.web.app import create_app
from stadspuls.web.templating import TEMPLATE_DIR
from tests.support.accounts import bearer

PAGES_DIR = Path(i18n.__file__).parent / "pages"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted() -> Iterator[tuple[str, int, str | tuple[str, ...]]]:
    """(file, line, message) of every message in the templates and the page modules."""
    options = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}
    for path in sorted(TEMPLATE_DIR.rglob("*.html")):
        with path.open("rb") as handle:
            for line, _func, message, _comments in babel_extract(
                handle, list(KEYWORDS), [], options
            ):
                # `_(label)` of a variable has no message of its own: its values are marked
                # where they are defined (`N_` in the page modules).
                if isinstance(message, str):
                    yield str(path.relative_to(TEMPLATE_DIR)), line, message
                elif message is not None and message[0] is not None:
                    forms = tuple(m for m in message if m is not None)
                    yield str(path.relative_to(TEMPLATE_DIR)), line, forms
    for path in sorted(PAGES_DIR.rglob("*.py")):
        with path.open("rb") as handle:
            for line, message, _comments, _context in extract("python", handle, KEYWORDS):
                yield str(path.relative_to(PAGES_DIR)), line, message


def test_the_extractor_finds_the_messages() -> None:
    found = {m if isinstance(m, str) else m[0] for _f, _l, m in extracted()}
    # One from a template, one plural, one from page code: the extractor reaches all three.
    assert {"Overview", "%(num)s monitor", "Public task (AVG art. 6(1)(e))"} <= found


def dutch_messages() -> dict[str, tuple[str, ...]]:
    """msgid -> its msgstr(s), over every .po file of the Dutch catalogue."""
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted((i18n.LOCALE_DIR / "nl" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="nl"):
                if not message.id or message.fuzzy:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                string = message.string
                found[key] = (string,) if isinstance(string, str) else tuple(string or ())
    return found


def test_every_message_has_a_dutch_translation() -> None:
    dutch = dutch_messages()
    missing = []
    for where, line, message in extracted():
        key = message if isinstance(message, str) else message[0]
        forms = 1 if isinstance(message, str) else 2
        strings = dutch.get(key, ())
        if len(strings) < forms or not all(s.strip() for s in strings[:forms]):
            missing.append(f"{where}:{line}: {message!r}")
    assert not missing, "untranslated:\n" + "\n".join(missing)


@pytest.fixture
def client(settings: Settings, engine: sa.Engine) -> TestClient:
    return TestClient(create_app(settings, engine=engine))


def test_pages_speak_dutch_by_default_and_english_on_request(
    client: TestClient, engine: sa.Engine
) -> None:
    headers = bearer(engine, "analyst")
    dutch = client.get("/monitors", headers=headers)
    assert '<html lang="nl"' in dutch.text
    assert "Nieuwe monitor" in dutch.text
    assert "New monitor" not in dutch.text
    english = client.get("/monitors?lang=en", headers=headers)
    assert '<html lang="en"' in english.text
    assert "New monitor" in english.text
    assert "Nieuwe monitor" not in english.text
    # The choice is remembered in a cookie for the next page.
    assert english.cookies.get("stadspuls_lang") == "en"
    again = client.get("/search", headers=headers)
    assert '<html lang="en"' in again.text
