"""What the inbox pages say from Python (a finished action, a refused one) has its Dutch text in
cases.po, as the templates' messages have (tests/web/test_catalogue.py checks those)."""

from __future__ import annotations

from babel.messages.pofile import read_po

from stadspuls.web import i18n
from stadspuls.web.routes import cases_actions, cases_pages

PO = i18n.LOCALE_DIR / "nl" / "LC_MESSAGES" / "cases.po"


def test_every_message_of_the_route_modules_has_a_dutch_translation() -> None:
    with PO.open("rb") as handle:
        dutch = {m.id: m.string for m in read_po(handle, locale="nl") if m.id and m.string}
    said = set(cases_pages.DONE.values())
    said |= {
        value
        for name, value in vars(cases_actions).items()
        if name.isupper() and isinstance(value, str) and value.endswith(".")
    }
    said.add("This template cannot be used (yet): pick a reviewed one.")
    assert len(said) > 15
    missing = sorted(message for message in said if message not in dutch)
    assert not missing, missing
