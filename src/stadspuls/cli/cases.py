"""`stadspuls cases …`: the inbox's cases from the command line: list, show, purge. Reads go
through the case service as the OS login name (an admin who sees every case; contact details
are never shown here: they are for members of a case's department, in the dashboard)."""

from __future__ import annotations

import json
from typing import Any

import click
import msgspec

from stadspuls.cases.records import CASE_STATES
from stadspuls.cli.common import cli_user, common_options, engine_for, reader_for, refusal
from stadspuls.settings import Settings


@click.group("cases")
def cases_group() -> None:
    """Citizens' questions and tips: list, show, purge."""


def _plain(value: msgspec.Struct) -> dict[str, Any]:
    plain: dict[str, Any] = msgspec.to_builtins(value)
    return plain


@cases_group.command("list")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(CASE_STATES), help="Repeatable."
)
@click.option("--overdue", is_flag=True, help="Only cases past a service level.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common_options
def list_command(
    states: tuple[str, ...], overdue: bool, limit: int, as_json: bool, settings: Settings
) -> None:
    """List cases, newest first."""
    from stadspuls.cases.runner import build_service

    engine = reader_for(settings)
    if engine is None:
        click.echo("no cases yet (no database)")
        return
    service = build_service(engine, settings)
    found = service.list_cases(cli_user(), states=states or None, overdue=overdue, limit=limit)
    engine.dispose()
    if as_json:
        for case in found:
            click.echo(json.dumps(_plain(case), ensure_ascii=False))
        return
    if not found:
        click.echo("no cases")
        return
    click.echo(f"{'id':>6}  {'reference':<16} {'state':<9} {'kind':<8} {'channel':<8} text")
    for case in found:
        late = " OVERDUE" if service.overdue(case) else ""
        words = " ".join((case.subject or case.text).split())[:50]
        click.echo(
            f"{case.id:>6}  {case.reference:<16} {case.state:<9} {case.kind:<8} "
            f"{case.channel:<8} {words}{late}"
        )


@cases_group.command("show")
@click.argument("case_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="The case, history and conversation.")
@common_options
def show_command(case_id: int, as_json: bool, settings: Settings) -> None:
    """Show case CASE_ID with its route, history and conversation."""
    from stadspuls.cases.runner import build_service

    engine = reader_for(settings)
    if engine is None:
        raise click.ClickException(f"no case {case_id}")
    with refusal():
        view = build_service(engine, settings).view(cli_user(), case_id)
    engine.dispose()
    if as_json:
        click.echo(json.dumps(_plain(view), ensure_ascii=False))
        return
    case = view.case
    click.echo(f"{case.reference}  {case.state}  {case.kind} via {case.channel}")
    click.echo(f"department: {view.department.name}  assignee: {view.assignee or '-'}")
    click.echo(f"route: {case.route_explanation}")
    if case.place_code:
        click.echo(f"place: {case.place_name} ({case.place_code})")
    if view.overdue:
        click.echo("overdue: " + ", ".join(view.overdue))
    click.echo("conversation:")
    for message in view.messages:
        arrow = "<-" if message.direction == "in" else "->"
        delivery = f" [{message.delivery}]" if message.delivery else ""
        click.echo(f"  {message.at:%Y-%m-%d %H:%M} {arrow} {message.channel}{delivery}")
        for line in message.text.splitlines() or [""]:
            click.echo(f"      {line}")
    click.echo("history:")
    for event in view.events:
        details = ", ".join(f"{k}={v}" for k, v in event.details.items() if v is not None)
        click.echo(f"  {event.at:%Y-%m-%d %H:%M} {event.actor:<12} {event.kind} {details}")


@cases_group.command("purge")
@common_options
def purge_command(settings: Settings) -> None:
    """Delete closed cases past their department's retention period now (also daily inside
    `stadspuls run`), with contacts, history, messages and media no other case uses."""
    from stadspuls.cases.runner import build_service

    engine = engine_for(settings)
    purged = build_service(engine, settings).purge()
    engine.dispose()
    click.echo(f"deleted {purged} closed cases past their retention period")
