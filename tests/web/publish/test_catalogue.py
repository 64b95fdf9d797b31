"""Every sentence the publishing route modules show (their upper-case constants: states,
channels, history lines, done and error messages; and the form's own field problems) has its
Dutch text, and the pages speak English on request."""

from __future__ import annotations

import ast
from pathlib import Path

from stadspuls.web.i18n import catalogue
from stadspuls.web.routes import (
    publish_compose,
    publish_form,
    publish_pages,
    publish_template_pages,
    publish_views,
)
from tests.web.publish.conftest import Newsroom

MODULES = (publish_compose, publish_form, publish_pages, publish_template_pages, publish_views)


def _sentences(path: Path) -> set[str]:
    """Strings in upper-case constants, and the messages of `FieldProblem(field, message)`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign):
            target = node.targets[0]
            if not (isinstance(target, ast.Name) and target.id.isupper()) or target.id.startswith(
                "_"
            ):
                continue
            if target.id in {"FIELDS", "FIELD_ALIASES", "IMAGE_TYPES", "_SAFE_HEADERS"}:
                continue  # field names and states, not words for people
            values = node.value.values if isinstance(node.value, ast.Dict) else [node.value]
            for value in values:
                for constant in ast.walk(value):
                    if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                        found.add(constant.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "FieldProblem":
            message = node.args[1] if len(node.args) > 1 else None
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                found.add(message.value)
    return {s for s in found if " " in s or s[:1].isupper()}


def test_every_sentence_of_the_modules_has_dutch() -> None:
    dutch = catalogue("nl")
    sentences = set().union(*(_sentences(Path(m.__file__ or "")) for m in MODULES))
    assert "Awaiting approval" in sentences  # the walk reaches the label tables
    assert "Describe the image (alt text)." in sentences  # and the form's problems
    missing = sorted(
        s for s in sentences if dutch.gettext(s) == s and s not in {"Mastodon", "Bluesky"}
    )
    assert not missing, "untranslated: " + "; ".join(missing)


def test_english_on_request(newsroom: Newsroom) -> None:
    anna = newsroom.session("anna")
    dutch = anna.get("/publicaties/nieuw")
    assert "Nieuwe publicatie" in dutch.text
    english = anna.get("/publicaties/nieuw?lang=en")
    assert "New publication" in english.text
    assert "Nieuwe publicatie" not in english.text
    news = newsroom.public().get("/nieuws?lang=en")
    assert "No news yet." in news.text
    assert "Nog geen nieuws." in newsroom.public().get("/nieuws?lang=nl").text
