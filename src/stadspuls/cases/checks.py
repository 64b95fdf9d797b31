"""What makes an inbox setting valid: a department (its hours, service levels, retention), a
routing rule (its places, languages and kinds; its query is checked by compiling it) and a reply
template (its name, language and placeholders). The admin checks before it writes.
"""

from __future__ import annotations

import re

import msgspec

from stadspuls.cases import hours as office_hours
from stadspuls.cases import replies
from stadspuls.cases.errors import Explained
from stadspuls.cases.records import CASE_KINDS, Department, ReplyTemplate, RoutingRule
from stadspuls.cases.routing import place_codes

DEPARTMENT_SLUG = re.compile(r"[a-z0-9-]{2,64}")
TEMPLATE_NAME = re.compile(r"[a-z0-9-]{2,100}")
LANGUAGE = re.compile(r"[a-z]{2}")
TEMPLATE_LANGUAGES = ("nl", "en")


class AdminError(Explained):
    """A setting that cannot be saved as it is (answered 422); the message says why."""


class AlreadyExists(Explained):
    """A department slug, template name or call address already taken (answered 409)."""


def check_department(department: Department) -> None:
    if not DEPARTMENT_SLUG.fullmatch(department.slug):
        raise AdminError(
            "the short name %(slug)r must be 2–64 characters: a–z, 0–9 and hyphens",
            slug=department.slug,
        )
    if not department.name.strip() or len(department.name) > 200:
        raise AdminError("a department needs a name of at most 200 characters")
    try:
        office_hours.validate(department.hours)
    except office_hours.HoursError as error:
        raise AdminError(error.message, **error.params) from error
    hours = (department.first_response_hours, department.resolution_hours)
    if hours[0] is not None and not 0 < hours[0] <= 24 * 366:
        raise AdminError("the first response time must be more than 0 hours and at most a year")
    if hours[1] is not None and not 0 < hours[1] <= 24 * 366:
        raise AdminError("the resolution time must be more than 0 hours and at most a year")
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
            "unknown place %(places)s (a CBS code such as GM0772, or the name of a municipality "
            "or a place in it)",
            places=", ".join(map(repr, unknown)),
        )
    bad = [language for language in rule.languages if not LANGUAGE.fullmatch(language)]
    if bad:
        raise AdminError("languages are two-letter codes (nl, en): not %(bad)s", bad=", ".join(bad))
    bad = [kind for kind in rule.kinds if kind not in CASE_KINDS]
    if bad:
        raise AdminError("kinds are question and tip: not %(bad)s", bad=", ".join(bad))
    return rule


def check_template(template: ReplyTemplate) -> None:
    if not TEMPLATE_NAME.fullmatch(template.name):
        raise AdminError(
            "the template name %(name)r must be 2–100 characters: a–z, 0–9, hyphens",
            name=template.name,
        )
    if template.language not in TEMPLATE_LANGUAGES:
        raise AdminError("a template is in nl or en")
    if not template.body.strip():
        raise AdminError("a template needs a text")
    if len(template.subject) > 300:
        raise AdminError("a subject is at most 300 characters")
    try:
        replies.check(template.subject)
        replies.check(template.body)
    except replies.TemplateError as error:
        raise AdminError(error.message, **error.params) from error
