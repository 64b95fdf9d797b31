"""What makes an inbox setting valid: a department (its hours, service levels, retention), a
routing rule (its places, languages and kinds; its query is checked by compiling it) and a reply
template (its name, language and placeholders). The admin checks before it writes.
"""

from __future__ import annotations

import re

import msgspec

from stadspuls.cases import hours as office_hours
from stadspuls.cases import replies
from stadspuls.cases.records import CASE_KINDS, Department, ReplyTemplate, RoutingRule
from stadspuls.cases.routing import place_codes

DEPARTMENT_SLUG = re.compile(r"[a-z0-9-]{2,64}")
TEMPLATE_NAME = re.compile(r"[a-z0-9-]{2,100}")
LANGUAGE = re.compile(r"[a-z]{2}")
TEMPLATE_LANGUAGES = ("nl", "en")


class AdminError(ValueError):
    """A setting that cannot be saved as it is (answered 422); the message says why."""


class AlreadyExists(ValueError):
    """A department slug, template name or call address already taken (answered 409)."""


def check_department(department: Department) -> None:
    if not DEPARTMENT_SLUG.fullmatch(department.slug):
        raise AdminError(
            f"the short name {department.slug!r} must be 2–64 characters: a–z, 0–9 and hyphens"
        )
    if not department.name.strip() or len(department.name) > 200:
        raise AdminError("a department needs a name of at most 200 characters")
    try:
        office_hours.validate(department.hours)
    except office_hours.HoursError as error:
        raise AdminError(str(error)) from error
    for label, value in (
        ("first response", department.first_response_hours),
        ("resolution", department.resolution_hours),
    ):
        if value is not None and not 0 < value <= 24 * 366:
            raise AdminError(f"the {label} time must be more than 0 and at most a year, in hours")
    if not 1 <= department.retention_days <= 100 * 366:
        raise AdminError("the retention period must be 1 day to 100 years")


def clean_rule(rule: RoutingRule) -> RoutingRule:
    def strip(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))

    rule = msgspec.structs.replace(
        rule,
        name=rule.name.strip(),
        query=(rule.query or "").strip() or None,
        categories=strip(rule.categories),
        places=strip(rule.places),
        languages=tuple(v.lower() for v in strip(rule.languages)),
        kinds=strip(rule.kinds),
    )
    if not rule.name or len(rule.name) > 200:
        raise AdminError("a rule needs a name of at most 200 characters")
    unknown = [place for place in rule.places if not place_codes(place)]
    if unknown:
        raise AdminError(
            "unknown place " + ", ".join(map(repr, unknown)) + " (a CBS code such as GM0772, or "
            "the name of a municipality or a place in it)"
        )
    bad = [language for language in rule.languages if not LANGUAGE.fullmatch(language)]
    if bad:
        raise AdminError("languages are two-letter codes (nl, en): not " + ", ".join(bad))
    bad = [kind for kind in rule.kinds if kind not in CASE_KINDS]
    if bad:
        raise AdminError(f"kinds are {', '.join(CASE_KINDS)}: not " + ", ".join(bad))
    return rule


def check_template(template: ReplyTemplate) -> None:
    if not TEMPLATE_NAME.fullmatch(template.name):
        raise AdminError(
            f"the template name {template.name!r} must be 2–100 characters: a–z, 0–9, hyphens"
        )
    if template.language not in TEMPLATE_LANGUAGES:
        raise AdminError(f"a template is in {' or '.join(TEMPLATE_LANGUAGES)}")
    if not template.body.strip():
        raise AdminError("a template needs a text")
    if len(template.subject) > 300:
        raise AdminError("a subject is at most 300 characters")
    try:
        replies.check(template.subject)
        replies.check(template.body)
    except replies.TemplateError as error:
        raise AdminError(str(error)) from error
