"""Every refusal of the inbox settings can be said in Dutch: each message template raised in
the admin's modules and pages has a translation in the Dutch catalogue, with the same values."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import stadspuls
from stadspuls.cases.calls import CallError
from stadspuls.cases.errors import Explained
from stadspuls.web.i18n import catalogue

SOURCE = Path(stadspuls.__file__).parent
MODULES = [
    *(SOURCE / "cases" / f"{name}.py" for name in ("admin", "calls", "checks", "hours", "replies")),
    *sorted((SOURCE / "web" / "routes").glob("inbox_admin*.py")),
]
REFUSALS = {"AdminError", "AlreadyExists", "CallError", "HoursError", "TemplateError"}


def messages() -> list[str]:
    """The English templates raised (or assigned to `message`/`self.message`) in MODULES."""
    found = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in REFUSALS:
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append(first.value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                target = node.targets[0]
                name = getattr(target, "id", None) or getattr(target, "attr", None)
                if name == "message" and isinstance(node.value.value, str):
                    found.append(node.value.value)
    return found


def test_the_extractor_finds_the_refusals() -> None:
    found = messages()
    assert "a call ends after it starts" in found
    assert "unknown placeholder {%(name)s}; known: %(known)s" in found
    assert "%(user)s does not work in department %(id)s" in found
    assert len(found) > 40


def test_every_refusal_has_a_dutch_translation_with_the_same_values() -> None:
    dutch = catalogue("nl")
    problems = []
    for message in messages():
        translated = dutch.gettext(message)
        if translated == message:
            problems.append(f"untranslated: {message!r}")
        elif set(re.findall(r"%\((\w+)\)", translated)) != set(re.findall(r"%\((\w+)\)", message)):
            problems.append(f"other values: {message!r} -> {translated!r}")
    assert problems == []


def test_a_refusal_reads_in_english_and_keeps_its_values() -> None:
    error = CallError("question %(key)r needs a label", key="gezien")
    assert isinstance(error, Explained)
    assert str(error) == "question 'gezien' needs a label"
    assert error.params == {"key": "gezien"}
    assert (
        catalogue("nl").gettext(error.message) % error.params
        == "vraag 'gezien' heeft een tekst nodig"
    )
