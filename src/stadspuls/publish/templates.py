"""Publishing templates: one tone of voice, with placeholders in braces.

The syntax is the inbox's reply templates' (cases/replies.py): `{plaats}` is a placeholder,
`{{` and `}}` are literal braces; conversions, format specs, attributes and indexes are
refused. An unknown placeholder is an error when the template is saved; a placeholder left
without a value is an error when it is filled, never a silent hole in a public message.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from stadspuls.publish.errors import PublishError

# The placeholders a publishing template may use.
PLACEHOLDERS: dict[str, str] = {
    "plaats": "the place it is about (Utrecht, de Vaartsche Rijn)",
    "tijd": "a time (14:30)",
    "datum": "a date (1 december)",
    "onderwerp": "what it is about (brand, wateroverlast)",
    "advies": "what people should do (ramen en deuren sluiten)",
    "link": "a link to more information",
    "organisatie": "who speaks (Gemeente Utrecht)",
    "telefoon": "a telephone number for questions",
}
MAX_NAME = 100

_FORMATTER = string.Formatter()


def placeholders(text: str, *, field: str = "body") -> list[str]:
    """The placeholders `text` uses, in order of first use; PublishError when one is unknown
    or malformed."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as error:
        raise PublishError(
            f"{error}; write {{{{ or }}}} for a literal brace", field=field
        ) from error
    found: list[str] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "":
            raise PublishError("an empty placeholder {}; write {{}} for braces", field=field)
        if conversion is not None or spec:
            raise PublishError(f"placeholder {{{name}}} may not have a format", field=field)
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + known + "}" for known in PLACEHOLDERS)
            raise PublishError(f"unknown placeholder {{{name}}}; known: {known}", field=field)
        if name not in found:
            found.append(name)
    return found


def render(text: str, values: Mapping[str, str], *, field: str = "body") -> str:
    """Fill `text`; a placeholder without a value is a PublishError naming it."""
    used = placeholders(text, field=field)
    missing = [name for name in used if not (values.get(name) or "").strip()]
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        raise PublishError(f"no value for {names}", field=field)
    return _FORMATTER.vformat(text, (), {name: values[name].strip() for name in used})


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise PublishError(
            f"a template needs a name of at most {MAX_NAME} characters", field="name"
        )
    return name
