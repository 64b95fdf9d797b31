"""Reply templates: placeholders from a fixed set, checked on save, filled on use."""

from __future__ import annotations

import pytest

from stadspuls.cases import replies
from stadspuls.cases.replies import TemplateError

VALUES = {
    "referentie": "SP-2026-000123",
    "afdeling": "Wijkzaken",
    "openingstijden": "ma–vr 08:30–17:00; feestdagen gesloten",
    "volgende_opening": "maandag 7 december om 08:30",
    "noodnummer": "Bij spoed of levensgevaar: bel 112.",
}


def test_render_fills_placeholders_and_keeps_escaped_braces() -> None:
    body = "{aanhef} uw nummer is {referentie} {{niet vervangen}}"
    assert replies.render(body, {**VALUES, "naam": "Jan"}) == (
        "Beste Jan, uw nummer is SP-2026-000123 {niet vervangen}"
    )
    assert replies.render(body, VALUES).startswith("Goedendag, uw nummer")
    assert replies.render("{aanhef}", {}, language="en") == "Hello,"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Beste {voornaam},", r"unknown placeholder \{voornaam\}"),
        ("Nummer {referentie", "expected '}'"),
        ("Een } te veel", "Single '}'"),
        ("Leeg {}", "empty placeholder"),
        ("{referentie!r}", "conversion or format"),
        ("{referentie:>20}", "conversion or format"),
        ("{referentie.upper}", "unknown placeholder"),
    ],
)
def test_check_names_what_is_wrong(body: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        replies.check(body)


def test_a_missing_required_value_is_an_error_and_optional_ones_are_blank() -> None:
    with pytest.raises(TemplateError, match=r"\{referentie\}"):
        replies.render("Nummer {referentie}", {})
    assert replies.render("Status: {statuslink}.", {}) == "Status: ."


def test_every_built_in_template_renders_in_one_tone() -> None:
    names = {(t.name, t.language) for t in replies.BUILT_IN}
    for name in ("ontvangen", "buiten-kantoortijd", "doorverwezen", "afgehandeld"):
        assert {(name, "nl"), (name, "en")} <= names
    for template in replies.BUILT_IN:
        text = replies.render(template.body, VALUES, language=template.language)
        subject = replies.render(template.subject, VALUES, language=template.language)
        assert "SP-2026-000123" in subject
        if template.language == "nl":
            # The plain-language style addresses citizens with "u", never "je" or "jij".
            words = set(text.lower().replace(",", " ").replace(".", " ").split())
            assert "u" in words or "uw" in words
            assert not words & {"je", "jij", "jouw"}
    out_of_hours = next(t for t in replies.BUILT_IN if t.name == "buiten-kantoortijd")
    text = replies.render(out_of_hours.body, VALUES)
    assert "maandag 7 december om 08:30" in text
    assert "112" in text


def test_localized_names() -> None:
    assert replies.localized_name("ontvangen", "nl") == "ontvangen"
    assert replies.localized_name("ontvangen", "en") == "ontvangen-en"
