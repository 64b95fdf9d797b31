"""Reply templates: placeholders in braces, filled from a fixed set of values; an unknown
placeholder is an error when the template is saved, never a silent blank in a reply.

Braces are Python's format syntax without its power: `{naam}` is a placeholder, `{{` and `}}`
are literal braces; conversions (`{naam!r}`), format specs (`{naam:>10}`), attributes and
indexes are refused, so a template can never reach into anything but the values given.

Values that a case may lack (OPTIONAL: no name given, not a web report, not a tip to a call,
open right now) become empty text; the others are required, and rendering without them is a
TemplateError, so that a reply never goes out with a hole where the reference should be.
`{aanhef}` is filled by `render` itself from `naam`: "Beste Jan," or "Goedendag,".
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import NamedTuple

from stadspuls.cases.errors import Explained

# The placeholders a template may use, and what each is filled with.
PLACEHOLDERS: dict[str, str] = {
    "naam": "the citizen's name, or a greeting without one",
    "referentie": "the case reference (SP-2026-000123)",
    "afdeling": "the department's name",
    "openingstijden": "the department's office hours in words",
    "volgende_opening": "when the department next opens (date and time)",
    "statuslink": "the link to the report's status page (web reports)",
    "noodnummer": "the emergency text (112, the police's non-urgent line)",
    "oproep": "the call's title (tips to a call)",
    "aanhef": "the salutation: 'Beste <naam>,' or, without a name, 'Goedendag,'",
}
OPTIONAL = frozenset({"naam", "volgende_opening", "statuslink", "oproep", "aanhef"})

_FORMATTER = string.Formatter()


class TemplateError(Explained):
    """A template uses an unknown placeholder or has unbalanced braces."""


def placeholders(body: str) -> list[str]:
    """The placeholders `body` uses, in order of first use; raises TemplateError like check."""
    try:
        parsed = list(_FORMATTER.parse(body))
    except ValueError as error:
        # string.Formatter says "Single '}' encountered in format string": name the fix.
        raise TemplateError(
            "%(problem)s; write {{ or }} for a literal brace", problem=str(error)
        ) from error
    found: list[str] = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field == "":
            raise TemplateError("an empty placeholder {}; write {{}} for literal braces")
        if conversion is not None or spec:
            raise TemplateError(
                "placeholder {%(name)s} may not have a conversion or format", name=field
            )
        if field not in PLACEHOLDERS:
            known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            raise TemplateError(
                "unknown placeholder {%(name)s}; known: %(known)s", name=field, known=known
            )
        if field not in found:
            found.append(field)
    return found


def check(body: str) -> None:
    """Raise TemplateError when `body` would not render."""
    placeholders(body)


def salutation(name: str | None, language: str = "nl") -> str:
    english = language.startswith("en")
    if name and name.strip():
        return f"{'Dear' if english else 'Beste'} {name.strip()},"
    return "Hello," if english else "Goedendag,"


def render(body: str, values: Mapping[str, str], *, language: str = "nl") -> str:
    """Fill `body`; a missing required value is a TemplateError naming it."""
    used = placeholders(body)
    filled = {name: values.get(name) or "" for name in used}
    missing = [name for name in used if name not in OPTIONAL and not values.get(name)]
    if missing:
        raise TemplateError(
            "no value for %(names)s", names=", ".join("{" + name + "}" for name in missing)
        )
    if "aanhef" in used and not values.get("aanhef"):
        filled["aanhef"] = salutation(values.get("naam"), language)
    return _FORMATTER.vformat(body, (), filled)


class BuiltIn(NamedTuple):
    """A template the inbox ships with (created by CaseAdmin.ensure_fallback when absent)."""

    name: str
    language: str
    subject: str
    body: str


def localized_name(name: str, language: str) -> str:
    """Template names are unique; a translation carries its language: "ontvangen-en"."""
    return name if language == "nl" else f"{name}-{language}"


_SIGN_NL = "Met vriendelijke groet,\n{afdeling}"
_SIGN_EN = "Kind regards,\n{afdeling}"

# One tone: short sentences, "u", plain words (the government's B1 level), what happens next,
# and always what to do in an emergency.
BUILT_IN: tuple[BuiltIn, ...] = (
    BuiltIn(
        "ontvangen",
        "nl",
        "Wij hebben uw bericht ontvangen ({referentie})",
        "{aanhef}\n\nBedankt voor uw bericht. Wij hebben het ontvangen onder nummer "
        "{referentie}. De afdeling {afdeling} behandelt het.\n\n"
        "Onze openingstijden: {openingstijden}.\n\n{noodnummer}\n\n" + _SIGN_NL,
    ),
    BuiltIn(
        "ontvangen",
        "en",
        "We have received your message ({referentie})",
        "{aanhef}\n\nThank you for your message. We have received it under number "
        "{referentie}. The {afdeling} department will handle it.\n\n"
        "Our office hours: {openingstijden}.\n\n{noodnummer}\n\n" + _SIGN_EN,
    ),
    BuiltIn(
        "buiten-kantoortijd",
        "nl",
        "Wij zijn nu gesloten ({referentie})",
        "{aanhef}\n\nBedankt voor uw bericht. Wij hebben het ontvangen onder nummer "
        "{referentie}.\n\nWij zijn nu gesloten. De afdeling {afdeling} is weer open op "
        "{volgende_opening}. Dan lezen wij uw bericht.\n\n"
        "Onze openingstijden: {openingstijden}.\n\n{noodnummer}\n\n" + _SIGN_NL,
    ),
    BuiltIn(
        "buiten-kantoortijd",
        "en",
        "We are closed now ({referentie})",
        "{aanhef}\n\nThank you for your message. We have received it under number "
        "{referentie}.\n\nWe are closed now. The {afdeling} department opens again on "
        "{volgende_opening}. We will read your message then.\n\n"
        "Our office hours: {openingstijden}.\n\n{noodnummer}\n\n" + _SIGN_EN,
    ),
    BuiltIn(
        "doorverwezen",
        "nl",
        "Uw bericht is doorgestuurd ({referentie})",
        "{aanhef}\n\nUw bericht {referentie} is doorgestuurd naar de afdeling {afdeling}. "
        "Die afdeling behandelt het verder. U hoeft niets te doen.\n\n" + _SIGN_NL,
    ),
    BuiltIn(
        "doorverwezen",
        "en",
        "Your message has been passed on ({referentie})",
        "{aanhef}\n\nYour message {referentie} has been passed on to the {afdeling} "
        "department. They will handle it from here. You do not need to do anything.\n\n" + _SIGN_EN,
    ),
    BuiltIn(
        "afgehandeld",
        "nl",
        "Uw bericht is afgehandeld ({referentie})",
        "{aanhef}\n\nWij hebben uw bericht {referentie} afgehandeld. Bedankt voor uw "
        "melding.\n\nHeeft u nog een vraag? Reageer dan op dit bericht.\n\n" + _SIGN_NL,
    ),
    BuiltIn(
        "afgehandeld",
        "en",
        "Your message has been dealt with ({referentie})",
        "{aanhef}\n\nWe have dealt with your message {referentie}. Thank you for letting us "
        "know.\n\nDo you have another question? Then reply to this message.\n\n" + _SIGN_EN,
    ),
)
