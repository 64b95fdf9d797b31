"""Every message the volunteer pages and the call-out screen put next to a field, and every
label they show from code (skills, channels, weekdays), has a Dutch translation. The template
messages are checked by tests/web/test_catalogue.py; these live in the route modules."""

from __future__ import annotations

import ast
from pathlib import Path

from stadspuls.web.i18n import catalogue
from stadspuls.web.routes import callout_pages, volunteer_form, volunteer_pages, volunteer_self

MODULES = (volunteer_form, volunteer_pages, volunteer_self, callout_pages)
SAME_IN_DUTCH = {"E-mail"}


def field_messages() -> set[str]:
    found = set()
    for module in MODULES:
        tree = ast.parse(Path(str(module.__file__)).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "FieldError":
                for keyword in node.keywords:
                    if keyword.arg == "message" and isinstance(keyword.value, ast.Constant):
                        found.add(str(keyword.value.value))
                    elif keyword.arg == "message" and isinstance(keyword.value, ast.Name):
                        found.add(str(getattr(module, keyword.value.id)))
    return found


def test_the_extractor_finds_the_messages() -> None:
    assert "Give a distance in kilometres." in field_messages()
    assert volunteer_pages.EXPIRED_FORM in field_messages()


def test_every_message_and_label_from_code_is_in_dutch() -> None:
    dutch = catalogue("nl")
    shown = field_messages()
    shown |= set(volunteer_form.SKILL_LABELS.values())
    shown |= set(volunteer_form.CHANNEL_LABELS.values())
    shown |= set(volunteer_form.WEEKDAY_LABELS)
    missing = sorted(m for m in shown - SAME_IN_DUTCH if dutch.gettext(m) == m)
    assert missing == []
