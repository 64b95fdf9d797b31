"""`stadspuls inbox template|call …`: reply templates (add, list, review) and calls for tips
(add, list); `stadspuls.cli.inbox` adds these groups to `stadspuls inbox`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from stadspuls.cases.records import QUESTION_KINDS, Call, CallQuestion, ReplyTemplate
from stadspuls.cli.common import cli_user, common_options
from stadspuls.cli.inbox_common import admin_for, department_named, refused
from stadspuls.records import utcnow
from stadspuls.settings import Settings
from stadspuls.store import monitors as monitor_store

# -- templates ----------------------------------------------------------------------------------


@click.group("template")
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
    admin = admin_for(settings)
    department_id = department_named(admin, slug).id if slug else None
    existing = next((t for t in admin.templates(cli_user()) if t.name == name), None)
    template = ReplyTemplate(
        id=existing.id if existing else None, name=name, language=language, subject=subject,
        body=text, department_id=department_id,
    )  # fmt: skip
    with refused():
        saved = admin.save_template(cli_user(), template)
    state = f"reviewed by {saved.reviewed_by}" if saved.reviewed_by else "awaits review"
    click.echo(f"template {saved.name!r} (id {saved.id}) saved; {state}")


@template_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per template.")
@common_options
def template_list(as_json: bool, settings: Settings) -> None:
    """Every template and whether it was reviewed."""
    admin = admin_for(settings)
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
    admin = admin_for(settings)
    found = next((t for t in admin.templates(cli_user()) if t.name == name), None)
    if found is None or found.id is None:
        raise click.ClickException(f"no template {name!r} (see: stadspuls inbox template list)")
    with refused():
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


@click.group("call")
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
    admin = admin_for(settings)
    department = department_named(admin, department_slug)
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
    with refused():
        saved = admin.save_call(cli_user(), call)
    base = settings.inbox.public_url or f"http://{settings.host}:{settings.port}"
    click.echo(f"call {saved.slug!r} (id {saved.id}): {base.rstrip('/')}/oproep/{saved.slug}")


@call_group.command("list")
@common_options
def call_list(settings: Settings) -> None:
    """Every call, newest start first, and whether it takes tips now."""
    admin = admin_for(settings)
    for call in admin.calls(cli_user()):
        state = "open" if admin.open_call(call.slug) else "not open"
        ends = call.ends_at.isoformat() if call.ends_at else "-"
        click.echo(f"{call.slug}\t{state}\t{call.starts_at.isoformat()}\t{ends}\t{call.title}")
