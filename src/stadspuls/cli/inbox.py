"""`stadspuls inbox …`: set up the inbox from the command line: departments and their members,
routing rules (and test where a message would go), reply templates (and review them), calls for
tips. Every change goes through CaseAdmin and is audited under the OS login name."""

from __future__ import annotations

import re
from datetime import time

import click

from stadspuls.cases import hours as office_hours
from stadspuls.cases.records import (
    CASE_KINDS,
    Department,
    InboundMessage,
    OfficeHours,
    OpeningSpan,
    RoutingRule,
)
from stadspuls.cases.routing import place_codes
from stadspuls.cli.common import cli_user, common_options
from stadspuls.cli.inbox_common import admin_for, department_named, refused
from stadspuls.cli.inbox_content import call_group, template_group
from stadspuls.records import utcnow
from stadspuls.settings import Settings
from stadspuls.store import users as user_store

HOURS = click.FloatRange(0, 8784, min_open=True)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*([a-z]{3})(?:-([a-z]{3}))?\s+(.+)$")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@click.group("inbox")
def inbox_group() -> None:
    """The inbox: departments, routing rules, reply templates and calls for tips."""


def parse_hours(specs: tuple[str, ...]) -> dict[int, tuple[OpeningSpan, ...]]:
    """ "mon-fri 08:30-12:00,13:00-17:00" (repeatable) → spans per weekday; 24:00 is midnight."""
    week: dict[int, tuple[OpeningSpan, ...]] = {}
    for spec in specs:
        match = _HOURS.match(spec.lower())
        if match is None or match.group(1) not in DAYS or (match.group(2) or "mon") not in DAYS:
            raise click.BadParameter(
                f"{spec!r}: write e.g. 'mon-fri 08:30-17:00'", param_hint="--hours"
            )
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2)) if match.group(2) else first
        spans = []
        for part in match.group(3).replace(" ", "").split(","):
            found = _SPAN.match(part)
            if found is None:
                raise click.BadParameter(
                    f"{part!r} is not a span like 08:30-17:00", param_hint="--hours"
                )
            h1, m1, h2, m2 = (int(g) for g in found.groups())
            if (h2, m2) == (24, 0):
                h2 = 0
            if max(h1, h2) > 23 or max(m1, m2) > 59:
                raise click.BadParameter(f"{part!r} is not a time of day", param_hint="--hours")
            spans.append(OpeningSpan(start=time(h1, m1), end=time(h2, m2)))
        for day in range(first, last + 1):
            week[day] = tuple(spans)
    return week


# -- departments --------------------------------------------------------------------------------


@inbox_group.group("department")
def department_group() -> None:
    """Departments: office hours, service levels, retention and members."""


@department_group.command("add")
@click.argument("slug")
@click.argument("name")
@click.option(
    "--hours",
    "hours_specs",
    multiple=True,
    metavar="DAYS SPANS",
    help="Office hours, e.g. 'mon-fri 08:30-17:00' (repeatable; Dutch local time).",
)
@click.option("--always-open", is_flag=True, help="Open day and night (a control room).")
@click.option("--open-on-holidays", is_flag=True, help="Also open on Dutch public holidays.")
@click.option("--first-response-hours", type=HOURS, default=8.0, show_default=True)
@click.option("--resolution-hours", type=HOURS, default=120.0, show_default=True)
@click.option("--retention-days", type=click.IntRange(1, 36600), default=1825, show_default=True)
@common_options
def department_add(
    slug: str,
    name: str,
    hours_specs: tuple[str, ...],
    always_open: bool,
    open_on_holidays: bool,
    first_response_hours: float,
    resolution_hours: float,
    retention_days: int,
    settings: Settings,
) -> None:
    """Create department SLUG, shown to citizens as NAME."""
    admin = admin_for(settings)
    hours = OfficeHours(
        week=parse_hours(hours_specs), always_open=always_open, open_on_holidays=open_on_holidays
    )
    with refused():
        saved = admin.save_department(
            cli_user(),
            Department(
                slug=slug,
                name=name,
                hours=hours,
                first_response_hours=first_response_hours,
                resolution_hours=resolution_hours,
                retention_days=retention_days,
            ),
        )
    described = office_hours.describe(saved.hours, "en")
    click.echo(f"department {saved.slug!r} (id {saved.id}): {described}")


@department_group.command("list")
@common_options
def department_list(settings: Settings) -> None:
    """Every department with its office hours, service levels and number of members."""
    admin = admin_for(settings)
    admin.ensure_fallback()
    actor = cli_user()
    for d in admin.departments(actor):
        members = len(admin.members(actor, d.id or 0))
        click.echo(
            f"{d.slug}\t{d.name}\t{office_hours.describe(d.hours, 'en')}\t"
            f"first response {d.first_response_hours or '-'} h\tresolution "
            f"{d.resolution_hours or '-'} h\tkeep {d.retention_days} days\t{members} members"
            + ("" if d.active else "\tinactive")
        )


@department_group.command("members")
@click.argument("slug")
@click.argument("usernames", nargs=-1)
@common_options
def department_members(slug: str, usernames: tuple[str, ...], settings: Settings) -> None:
    """Show the members of SLUG, or make USERNAMES its members (replacing the list)."""
    admin = admin_for(settings)
    department = department_named(admin, slug)
    assert department.id is not None
    if usernames:
        ids = []
        for username in usernames:
            user = user_store.find_user(admin.engine, username)
            if user is None or user.id is None:
                raise click.ClickException(f"no user {username!r} (see: stadspuls user list)")
            ids.append(user.id)
        with refused():
            admin.set_members(cli_user(), department.id, ids)
    names = {u.id: u.username for u in user_store.list_users(admin.engine)}
    for user_id in admin.members(cli_user(), department.id):
        click.echo(names.get(user_id, str(user_id)))


# -- routing rules ------------------------------------------------------------------------------


@inbox_group.group("rule")
def rule_group() -> None:
    """Routing rules, tried in order; the first that matches sends a message to its department."""


@rule_group.command("add")
@click.argument("name")
@click.option("--department", "slug", required=True, help="The department it sends to.")
@click.option("--query", help="The monitor query language, over subject and text.")
@click.option("--category", "categories", multiple=True, help="Any of these categories.")
@click.option("--place", "places", multiple=True, help="A CBS code (GM0772) or place name.")
@click.option("--language", "languages", multiple=True, help="Any of these languages (nl, en).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(CASE_KINDS))
@common_options
def rule_add(
    name: str,
    slug: str,
    query: str | None,
    categories: tuple[str, ...],
    places: tuple[str, ...],
    languages: tuple[str, ...],
    kinds: tuple[str, ...],
    settings: Settings,
) -> None:
    """Add rule NAME at the end of the order."""
    admin = admin_for(settings)
    department = department_named(admin, slug)
    assert department.id is not None
    rule = RoutingRule(
        department_id=department.id, name=name, query=query, categories=categories,
        places=places, languages=languages, kinds=kinds,
    )  # fmt: skip
    with refused():
        saved = admin.save_rule(cli_user(), rule)
    click.echo(f"rule {saved.name!r} (id {saved.id}) at position {saved.position}")


@rule_group.command("list")
@common_options
def rule_list(settings: Settings) -> None:
    """The rules in the order they are tried."""
    admin = admin_for(settings)
    actor = cli_user()
    slugs = {d.id: d.slug for d in admin.departments(actor)}
    for rule in admin.rules(actor):
        conditions = [
            f"query {rule.query!r}" if rule.query else "",
            f"category {','.join(rule.categories)}" if rule.categories else "",
            f"place {','.join(rule.places)}" if rule.places else "",
            f"language {','.join(rule.languages)}" if rule.languages else "",
            f"kind {','.join(rule.kinds)}" if rule.kinds else "",
        ]
        shown = "; ".join(c for c in conditions if c) or "everything"
        state = "" if rule.active else "\tinactive"
        target = slugs.get(rule.department_id)
        click.echo(f"{rule.position}\t{rule.name}\t→ {target}\t{shown}{state}")


@rule_group.command("test")
@click.argument("text")
@click.option("--subject", default="")
@click.option("--kind", type=click.Choice(CASE_KINDS), default="question", show_default=True)
@click.option("--category")
@click.option("--language")
@click.option("--place", help="A CBS code or place name (default: the first place TEXT names).")
@common_options
def rule_test(
    text: str,
    subject: str,
    kind: str,
    category: str | None,
    language: str | None,
    place: str | None,
    settings: Settings,
) -> None:
    """Which department a message TEXT would go to, and why."""
    admin = admin_for(settings)
    place_code = None
    if place:
        codes = place_codes(place)
        if not codes:
            raise click.ClickException(f"unknown place {place!r}")
        place_code = min(codes)
    message = InboundMessage(
        channel="web", external_id="test", received_at=utcnow(), kind=kind, subject=subject,
        text=text, language=language, category=category,
    )  # fmt: skip
    with refused():
        decision = admin.try_route(cli_user(), message, place_code=place_code)
        department = admin.department(cli_user(), decision.department_id)
    click.echo(f"{department.slug}\t{decision.explanation}")


inbox_group.add_command(template_group)
inbox_group.add_command(call_group)
