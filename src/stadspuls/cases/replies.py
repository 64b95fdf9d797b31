"""Reply templates: placeholders in braces, filled from a fixed set of values; an unknown
placeholder is an error when the template is saved, never a silent blank in a reply.
CONTRACT STUB: the admin helper implements it.
"""

from __future__ import annotations

from collections.abc import Mapping

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
}


class TemplateError(ValueError):
    """A template uses an unknown placeholder or has unbalanced braces."""


def check(body: str) -> None:
    """Raise TemplateError when `body` would not render."""
    raise NotImplementedError


def render(body: str, values: Mapping[str, str]) -> str:
    raise NotImplementedError
