"""`stadspuls inbox …`: set up the inbox from the command line: departments and their members,
routing rules (and test where a message would go), reply templates (and review them), calls for
tips. Every change goes through CaseAdmin and is audited under the OS login name."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from stadspuls.cases import hours as office_hours
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.checks import AdminError, AlreadyExists
from stadspuls.cases.records import (
    CASE_KINDS,
    QUESTION_KINDS,
    Call,
    CallQuestion,
    Department,
    InboundMessage,
    OfficeHours,
    OpeningSpan,
    ReplyTemplate,
    RoutingRule,
)
from stadspuls.cases.routing import place_codes
from stadspuls.cli.common import cli_user, common_options, engine_for
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import utcnow
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.settings import Settings
from stadspuls.store import monitors as monitor_store
from stadspuls.store import users as user_store

HOURS = click.FloatRange(0, 8784, min_open=True)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*([a-z]{3})(?:-([a-z]{3}))?\s+(.+)$")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@click.group("inbox")
def inbox_group() -> None:
    """The inbox: departments, routing rules, reply templates and calls for tips."""


def _admin(settings: Settings) -> CaseAdmin:
    engine = engine_for(settings)
    click.get_current_context().call_on_close(engine.dispose)
    return CaseAdmin(engine, settings)


@contextlib.contextmanager
def _refused() -> Iterator[None]:
    try:
        yield
    except QuerySyntaxError as error:
        raise click.ClickException(f"query error: {error}") from error
    except (AdminError, AlreadyExists, Forbidden, NotFound) as error:
        raise click.ClickException(str(error)) from error


def _department(admin: CaseAdmin, slug: str) -> Department:
    for department in admin.departments(cli_user()):
        if department.slug == slug:
            return department
    raise click.ClickException(f"no department {slug!r} (see: stadspuls inbox department list)")


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
    admin = _admin(settings)
    hours = OfficeHours(
        week=parse_hours(hours_specs), always_open=always_open, open_on_holidays=open_on_holidays
    )
    with _refused():
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
    admin = _admin(settings)
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
    admin = _admin(settings)
    department = _department(admin, slug)
    assert department.id is not None
    if usernames:
        ids = []
        for username in usernames:
            user = user_store.find_user(admin.engine, username)
            if user is None or user.id is None:
                raise click.ClickException(f"no user {username!r} (see: stadspuls user list)")
            ids.append(user.id)
        with _refused():
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
    admin = _admin(settings)
    department = _department(admin, slug)
    assert department.id is not None
    rule = RoutingRule(
        department_id=department.id, name=name, query=query, categories=categories,
        places=places, languages=languages, kinds=kinds,
    )  # fmt: skip
    with _refused():
        saved = admin.save_rule(cli_user(), rule)
    click.echo(f"rule {saved.name!r} (id {saved.id}) at position {saved.position}")


@rule_group.command("list")
@common_options
def rule_list(settings: Settings) -> None:
    """The rules in the order they are tried."""
    admin = _admin(settings)
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
    admin = _admin(settings)
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
    with _refused():
        decision = admin.try_route(cli_user(), message, place_code=place_code)
        department = admin.department(cli_user(), decision.department_id)
    click.echo(f"{department.slug}\t{decision.explanation}")


# -- templates ----------------------------------------------------------------------------------


@inbox_group.group("template")
def template_group() -> None:
    """Reply templates with placeholders; a change is reviewed by someone else before use."""


@template_group.command("add")
@click.argument("name")
@click.option("--body", help="The text, with placeholders such as {referentie}.")
@click.option("--body-file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--subject", default="")
@click.option("--language", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@click.option("--department", "slug", help="Only this department's (default: every department).")
@common_options
def template_add(
    name: str,
    body: str | None,
    body_file: Path | None,
    subject: str,
    language: str,
    slug: str | None,
    settings: Settings,
) -> None:
    """Add (or replace the text of) template NAME; it awaits review."""
    if (body is None) == (body_file is None):
        raise click.UsageError("give the text with --body or --body-file")
    text = body if body is not None else body_file.read_text(encoding="utf-8") if body_file else ""
    admin = _admin(settings)
    department_id = _department(admin, slug).id if slug else None
    existing = next((t for t in admin.templates(cli_user()) if t.name == name), None)
    template = ReplyTemplate(
        id=existing.id if existing else None, name=name, language=language, subject=subject,
        body=text, department_id=department_id,
    )  # fmt: skip
    with _refused():
        saved = admin.save_template(cli_user(), template)
    state = f"reviewed by {saved.reviewed_by}" if saved.reviewed_by else "awaits review"
    click.echo(f"template {saved.name!r} (id {saved.id}) saved; {state}")


@template_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per template.")
@common_options
def template_list(as_json: bool, settings: Settings) -> None:
    """Every template and whether it was reviewed."""
    admin = _admin(settings)
    admin.ensure_fallback()
    for t in admin.templates(cli_user()):
        if as_json:
            click.echo(json.dumps({"name": t.name, "language": t.language, "subject": t.subject,
                                   "body": t.body, "reviewed_by": t.reviewed_by}))  # fmt: skip
            continue
        state = f"reviewed by {t.reviewed_by}" if t.reviewed_by else "awaits review"
        click.echo(f"{t.name}\t{t.language}\t{state}\t{t.subject}")


@template_group.command("review")
@click.argument("name")
@common_options
def template_review(name: str, settings: Settings) -> None:
    """Approve template NAME (as someone other than its last editor)."""
    admin = _admin(settings)
    found = next((t for t in admin.templates(cli_user()) if t.name == name), None)
    if found is None or found.id is None:
        raise click.ClickException(f"no template {name!r} (see: stadspuls inbox template list)")
    with _refused():
        reviewed = admin.review_template(cli_user(), found.id)
    click.echo(f"template {reviewed.name!r} reviewed by {reviewed.reviewed_by}")


# -- calls --------------------------------------------------------------------------------------


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=option) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    return moment


def parse_question(spec: str) -> CallQuestion:
    """ "key:kind:label" or "key:choice:label:one|two|three"; a trailing "!" on the key makes
    it required ("seen!:text:What did you see?")."""
    parts = spec.split(":", 3)
    if len(parts) < 3 or parts[1] not in QUESTION_KINDS:
        raise click.BadParameter(
            f"{spec!r}: write key:kind:label (kinds: {', '.join(QUESTION_KINDS)})",
            param_hint="--question",
        )
    key, kind, label = parts[0], parts[1], parts[2]
    choices = tuple(c.strip() for c in parts[3].split("|")) if len(parts) == 4 else ()
    return CallQuestion(
        key=key.rstrip("!"), label=label, kind=kind, required=key.endswith("!"), choices=choices
    )


@inbox_group.group("call")
def call_group() -> None:
    """Calls for tips, each with its public page /oproep/SLUG."""


@call_group.command("add")
@click.argument("slug")
@click.argument("title")
@click.option("--department", "department_slug", required=True)
@click.option("--description", default="")
@click.option("--starts", help="ISO 8601 (default: now; without a zone: Dutch local time).")
@click.option("--ends", help="ISO 8601 (default: open until closed).")
@click.option("--monitor", "monitor_name", help="Show this monitor's posts beside the tips.")
@click.option("--incident-at", help="When the incident was (ISO 8601).")
@click.option("--lat", type=click.FloatRange(-90, 90))
@click.option("--lon", type=click.FloatRange(-180, 180))
@click.option("--question", "questions", multiple=True, metavar="KEY:KIND:LABEL[:A|B]",
              help="A question of the call (repeatable); KEY! makes it required.")  # fmt: skip
@common_options
def call_add(
    slug: str,
    title: str,
    department_slug: str,
    description: str,
    starts: str | None,
    ends: str | None,
    monitor_name: str | None,
    incident_at: str | None,
    lat: float | None,
    lon: float | None,
    questions: tuple[str, ...],
    settings: Settings,
) -> None:
    """Open call SLUG ("Getuigen gezocht: …") for tips."""
    admin = _admin(settings)
    department = _department(admin, department_slug)
    monitor_id = None
    if monitor_name:
        monitor = monitor_store.find_monitor(admin.engine, monitor_name)
        if monitor is None:
            raise click.ClickException(f"no monitor named {monitor_name!r}")
        monitor_id = monitor.id
    call = Call(
        slug=slug, title=title, description=description, department_id=department.id or 0,
        monitor_id=monitor_id, questions=tuple(parse_question(q) for q in questions),
        starts_at=_moment(starts, "--starts") or utcnow(), ends_at=_moment(ends, "--ends"),
        incident_at=_moment(incident_at, "--incident-at"), lat=lat, lon=lon,
    )  # fmt: skip
    with _refused():
        saved = admin.save_call(cli_user(), call)
    base = settings.inbox.public_url or f"http://{settings.host}:{settings.port}"
    click.echo(f"call {saved.slug!r} (id {saved.id}): {base.rstrip('/')}/oproep/{saved.slug}")


@call_group.command("list")
@common_options
def call_list(settings: Settings) -> None:
    """Every call, newest start first, and whether it takes tips now."""
    admin = _admin(settings)
    for call in admin.calls(cli_user()):
        state = "open" if admin.open_call(call.slug) else "not open"
        ends = call.ends_at.isoformat() if call.ends_at else "-"
        click.echo(f"{call.slug}\t{state}\t{call.starts_at.isoformat()}\t{ends}\t{call.title}")
