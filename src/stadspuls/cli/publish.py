"""`stadspuls publish …`: publications from the command line: list, show, approve, reject,
cancel, crisis mode, templates, and one run of the outbox. The command line acts as the OS login
name with the rights of an admin (cli/common.py `cli_user`): under the four-eyes rule it may
approve what someone else wrote, and its own only in a declared crisis mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import click
import msgspec

from stadspuls.cli.common import cli_user, common_options, engine_for, reader_for, refusal
from stadspuls.publish.records import PUBLICATION_STATES, Publication
from stadspuls.settings import Settings


@click.group("publish")
def publish_group() -> None:
    """Publishing to our own channels: list, show, approve, reject, cancel, crisis, deliver."""


def _plain(value: msgspec.Struct) -> dict[str, Any]:
    plain: dict[str, Any] = msgspec.to_builtins(value)
    return plain


@contextlib.contextmanager
def _refused() -> Iterator[None]:
    """What the publish service refuses, as one line."""
    from stadspuls.publish.service import PublishError, PublishStateError

    with refusal():
        try:
            yield
        except PublishError as error:
            field = f" ({error.field})" if error.field else ""
            raise click.ClickException(f"{error}{field}") from error
        except PublishStateError as error:
            raise click.ClickException(str(error)) from error


def _service(settings: Settings, *, write: bool) -> Any:
    from stadspuls.publish.registry import build_targets
    from stadspuls.publish.service import PublishService

    engine = engine_for(settings) if write else reader_for(settings)
    if engine is None:
        raise click.ClickException("no publications yet (no database)")
    return PublishService(engine, settings, targets=build_targets(settings, engine))


def _line(publication: Publication) -> str:
    when = publication.published_at or publication.scheduled_at or publication.updated_at
    stamp = when.strftime("%Y-%m-%d %H:%M") if when else ""
    crisis = " CRISIS" if publication.crisis else ""
    return (
        f"{publication.id:>6}  {publication.state:<9} {stamp:<16}  "
        f"{','.join(publication.targets):<24} {publication.title[:50]}{crisis}"
    )


@publish_group.command("list")
@click.option("--state", type=click.Choice(PUBLICATION_STATES), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common_options
def list_command(state: str | None, limit: int, as_json: bool, settings: Settings) -> None:
    """List publications, newest first."""
    probe = reader_for(settings)
    if probe is None:
        click.echo("no publications")
        return
    probe.dispose()
    service = _service(settings, write=False)
    with _refused():
        found = service.recent(cli_user(), state=state, limit=limit)
    service.engine.dispose()
    if as_json:
        for publication in found:
            click.echo(json.dumps(_plain(publication), ensure_ascii=False))
        return
    if not found:
        click.echo("no publications")
        return
    click.echo(f"{'id':>6}  {'state':<9} {'when (UTC)':<16}  {'channels':<24} title")
    for publication in found:
        click.echo(_line(publication))


@publish_group.command("show")
@click.argument("publication_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="The publication, deliveries, history.")
@common_options
def show_command(publication_id: int, as_json: bool, settings: Settings) -> None:
    """Show publication PUBLICATION_ID with its deliveries and history."""
    service = _service(settings, write=False)
    actor = cli_user()
    with _refused():
        publication = service.get(actor, publication_id)
        deliveries = service.deliveries(actor, publication_id)
        events = service.events(actor, publication_id)
    service.engine.dispose()
    if as_json:
        click.echo(json.dumps({
            "publication": _plain(publication),
            "deliveries": [_plain(d) for d in deliveries],
            "events": [_plain(e) for e in events],
        }, ensure_ascii=False))  # fmt: skip
        return
    click.echo(_line(publication))
    click.echo(f"  by {publication.created_by}" + (
        f", approved by {publication.approved_by}" if publication.approved_by else ""
    ))  # fmt: skip
    if publication.rejected_reason and publication.state == "rejected":
        click.echo(f"  rejected: {publication.rejected_reason}")
    click.echo("")
    click.echo(publication.body)
    click.echo("")
    for delivery in deliveries:
        where = delivery.url or delivery.external_id or delivery.last_error or ""
        click.echo(f"  {delivery.target:<16} {delivery.state:<8} x{delivery.attempts}  {where}")
    for event in events:
        details = json.dumps(event.details, ensure_ascii=False) if event.details else ""
        click.echo(f"  {event.at:%Y-%m-%d %H:%M:%S}  {event.actor:<12} {event.kind:<16} {details}")


@publish_group.command("approve")
@click.argument("publication_id", type=click.IntRange(1))
@common_options
def approve_command(publication_id: int, settings: Settings) -> None:
    """Approve a pending publication (someone else's; your own only in crisis mode)."""
    service = _service(settings, write=True)
    with _refused():
        publication = service.approve(cli_user(), publication_id)
    service.engine.dispose()
    click.echo(f"publication {publication_id}: {publication.state}"
               + (" (crisis mode)" if publication.crisis else ""))  # fmt: skip


@publish_group.command("reject")
@click.argument("publication_id", type=click.IntRange(1))
@click.option("--reason", required=True, help="Why: the author reads it.")
@common_options
def reject_command(publication_id: int, reason: str, settings: Settings) -> None:
    """Send a pending publication back to its author."""
    service = _service(settings, write=True)
    with _refused():
        service.reject(cli_user(), publication_id, reason)
    service.engine.dispose()
    click.echo(f"publication {publication_id}: rejected")


@publish_group.command("cancel")
@click.argument("publication_id", type=click.IntRange(1))
@common_options
def cancel_command(publication_id: int, settings: Settings) -> None:
    """Cancel a publication that is not yet published."""
    service = _service(settings, write=True)
    with _refused():
        service.cancel(cli_user(), publication_id)
    service.engine.dispose()
    click.echo(f"publication {publication_id}: cancelled")


@publish_group.command("crisis")
@click.option("--declare", "reason", default=None, help="Declare crisis mode, with a reason.")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--end", is_flag=True, help="End the crisis mode in force.")
@common_options
def crisis_command(reason: str | None, hours: float | None, end: bool, settings: Settings) -> None:
    """Show, declare (--declare REASON --hours H) or end (--end) crisis mode: while it is in
    force, an author may approve their own publication (logged as such)."""
    if reason is not None and end:
        raise click.UsageError("--declare or --end, not both")
    service = _service(settings, write=reason is not None or end)
    with _refused():
        if end:
            service.end_crisis(cli_user())
            click.echo("crisis mode ended")
        elif reason is not None:
            found = service.declare_crisis(
                cli_user(), reason, hours or settings.publish.crisis_max_hours
            )
            click.echo(f"crisis mode until {found.until:%Y-%m-%d %H:%M} UTC: {found.reason}")
        else:
            found = service.crisis()
            if found is None:
                click.echo("no crisis mode")
            else:
                click.echo(
                    f"crisis mode until {found.until:%Y-%m-%d %H:%M} UTC, declared by "
                    f"{found.declared_by}: {found.reason}"
                )
    service.engine.dispose()


@publish_group.command("templates")
@click.option("--json", "as_json", is_flag=True)
@common_options
def templates_command(as_json: bool, settings: Settings) -> None:
    """List the publishing templates (placeholders like {plaats})."""
    service = _service(settings, write=False)
    found = service.templates()
    service.engine.dispose()
    if as_json:
        for template in found:
            click.echo(json.dumps(_plain(template), ensure_ascii=False))
        return
    if not found:
        click.echo("no templates")
    for template in found:
        click.echo(f"{template.name:<24} {template.lang:<3} {template.title}")


@publish_group.command("deliver")
@common_options
def deliver_command(settings: Settings) -> None:
    """Release what is due and send the outbox once, until nothing is due now."""
    from stadspuls.publish.runner import build_outbox, close_targets

    engine = engine_for(settings)
    outbox = build_outbox(settings, engine)

    async def once() -> dict[str, int]:
        try:
            return dict(await outbox.drain())
        finally:
            await close_targets(outbox)

    done = asyncio.run(once())
    engine.dispose()
    click.echo(", ".join(f"{n} {what}" for what, n in sorted(done.items())) or "nothing due")
