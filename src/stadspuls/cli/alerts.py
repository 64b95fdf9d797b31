"""`stadspuls alerts …`: list, inspect, acknowledge, resolve and annotate alerts; set a monitor's
alert rules; deliver what the outbox holds. Reads and changes go through the read service, as
the OS login name (`cli_user`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
import msgspec
import sqlalchemy as sa

from stadspuls.alerts.rules import AlertRule, RuleError
from stadspuls.cli.common import (
    cli_user,
    common_options,
    engine_for,
    reader_for,
    refusal,
    service_for,
)
from stadspuls.records import ALERT_STATES, DETECTORS, Alert, Monitor
from stadspuls.settings import Settings
from stadspuls.store import outbox
from stadspuls.store.monitors import find_monitor, get_monitor


class _AlertsGroup(click.Group):
    """`backtest` is imported when it runs: it pulls in the door and its models."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "backtest"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "backtest" and cmd_name not in self.commands:
            from stadspuls.cli.backtest import backtest_command

            self.add_command(backtest_command)
        return super().get_command(ctx, cmd_name)


@click.group("alerts", cls=_AlertsGroup)
def alerts_group() -> None:
    """Alerts raised by the detectors: list, show, ack, resolve, rules, deliver, backtest."""


def _monitor(engine: sa.Engine, name_or_id: str) -> Monitor:
    found = find_monitor(engine, name_or_id)
    if found is None and name_or_id.isdigit():
        found = get_monitor(engine, int(name_or_id))
    if found is None:
        raise click.ClickException(f"no monitor {name_or_id!r} (see: stadspuls monitor list)")
    return found


def _as_json(alert: Alert) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.to_builtins(alert)
    return value


@alerts_group.command("list")
@click.option("--state", type=click.Choice(ALERT_STATES), help="Only alerts in this state.")
@click.option(
    "--monitor", "monitor_name", metavar="MONITOR", help="Only this monitor's (name or id)."
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common_options
def list_command(
    state: str | None, monitor_name: str | None, limit: int, as_json: bool, settings: Settings
) -> None:
    """List alerts, newest first."""
    engine = reader_for(settings)
    if engine is None:
        click.echo("no alerts yet (no database)")
        return
    monitor_id = _monitor(engine, monitor_name).id if monitor_name else None
    engine.dispose()
    reads = service_for(settings, read_only=True)
    total, found = reads.alerts(cli_user(), state=state, monitor_id=monitor_id, limit=limit)
    if as_json:
        for alert in found:
            click.echo(json.dumps(_as_json(alert), ensure_ascii=False))
        return
    if not found:
        click.echo("no alerts")
        return
    click.echo(
        f"{'id':>6}  {'state':<12} {'severity':<8} {'detector':<9} {'monitor':>7}  "
        f"{'opened (UTC)':<16} {'trig':>5}  {'obs/exp':<13} summary"
    )
    for alert in found:
        numbers = f"{alert.observed:g}/{alert.expected:g}"
        click.echo(
            f"{alert.id:>6}  {alert.state:<12} {alert.severity:<8} {alert.detector:<9}"
            f" {alert.monitor_id:>7}  {alert.opened_at:%Y-%m-%d %H:%M} {alert.triggers:>5}"
            f"  {numbers:<13} {alert.summary}"
        )
    if total > len(found):
        click.echo(f"({len(found)} of {total}; see --limit)")


@alerts_group.command("show")
@click.argument("alert_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="The alert and its events as JSON.")
@common_options
def show_command(alert_id: int, as_json: bool, settings: Settings) -> None:
    """Show alert ALERT_ID with its evidence, events and deliveries."""
    engine = reader_for(settings)
    if engine is None:
        raise click.ClickException(f"no alert {alert_id}")
    engine.dispose()
    with refusal():
        alert, events, deliveries = service_for(settings, read_only=True).alert_history(
            cli_user(), alert_id
        )
    if as_json:
        value = _as_json(alert)
        value["events"] = [
            {"id": e.id, "kind": e.kind, "at": e.at.isoformat(), "actor": e.actor} for e in events
        ]
        value["deliveries"] = [
            {k: v for k, v in d.items() if k != "delivered_us"} for d in deliveries
        ]
        click.echo(json.dumps(value, ensure_ascii=False))
        return
    key = f" ({alert.key})" if alert.key else ""
    click.echo(f"alert {alert.id}: {alert.detector}{key} on monitor {alert.monitor_id}")
    click.echo(f"  state:     {alert.state}, severity {alert.severity}")
    click.echo(f"  summary:   {alert.summary}")
    click.echo(f"  observed:  {alert.observed:g} (expected {alert.expected:g})")
    click.echo(f"  opened:    {alert.opened_at.isoformat()}; {alert.triggers} triggers")
    click.echo(f"  evidence:  posts of monitor {alert.monitor_id} from")
    click.echo(f"             {alert.started_at.isoformat()} to {alert.updated_at.isoformat()}")
    click.echo(f"  terms:     {', '.join(alert.top_terms) or '-'}")
    click.echo(f"  places:    {', '.join(alert.top_places) or '-'}")
    click.echo(f"  posts:     {', '.join(alert.post_ids) or '-'}")
    if alert.acknowledged_by:
        click.echo(f"  acknowledged by {alert.acknowledged_by} at {alert.acknowledged_at}")
    if alert.closed_by:
        click.echo(f"  closed by {alert.closed_by} at {alert.closed_at}")
    if alert.note:
        click.echo(f"  note:      {alert.note}")
    click.echo("events:")
    for event in events:
        actor = f" by {event.actor}" if event.actor else ""
        click.echo(f"  {event.id:>6} {event.at:%Y-%m-%d %H:%M:%S} {event.kind}{actor}")
    if deliveries:
        click.echo("deliveries:")
    for d in deliveries:
        error = f" ({d['last_error']})" if d["last_error"] else ""
        click.echo(
            f"  event {d['event_id']} -> {d['channel']}:{d['target']}: {d['state']},"
            f" {d['attempts']} attempts{error}"
        )


def _ignored_by(by: str | None) -> None:
    if by is not None:
        click.echo(f"note: --by is ignored; you act as {cli_user().username}", err=True)


@alerts_group.command("ack")
@click.argument("alert_id", type=click.IntRange(1))
@click.option("--by", hidden=True, help="Ignored (kept for old scripts): you act as yourself.")
@click.option("--note", help="What is being done.")
@common_options
def ack_command(alert_id: int, by: str | None, note: str | None, settings: Settings) -> None:
    """Acknowledge open alert ALERT_ID (an error if it was acknowledged already)."""
    _ignored_by(by)
    with refusal():
        alert = service_for(settings).acknowledge(cli_user(), alert_id, note)
    click.echo(f"alert {alert.id} acknowledged by {alert.acknowledged_by}")


@alerts_group.command("resolve")
@click.argument("alert_id", type=click.IntRange(1))
@click.option("--by", hidden=True, help="Ignored (kept for old scripts): you act as yourself.")
@click.option("--note", help="What happened.")
@click.option("--false-alarm", is_flag=True, help="Close it as a false alarm.")
@common_options
def resolve_command(
    alert_id: int, by: str | None, note: str | None, false_alarm: bool, settings: Settings
) -> None:
    """Resolve alert ALERT_ID (or close it as a false alarm)."""
    _ignored_by(by)
    with refusal():
        alert = service_for(settings).resolve(cli_user(), alert_id, note, false_alarm)
    click.echo(f"alert {alert.id} {alert.state.replace('_', ' ')} by {alert.closed_by}")


@alerts_group.command("note")
@click.argument("alert_id", type=click.IntRange(1))
@click.argument("text")
@common_options
def note_command(alert_id: int, text: str, settings: Settings) -> None:
    """Add note TEXT to alert ALERT_ID (in any state)."""
    if not text.strip():
        raise click.UsageError("the note is empty")
    with refusal():
        alert = service_for(settings).add_note(cli_user(), alert_id, text)
    click.echo(f"note added to alert {alert.id}")


@alerts_group.command("rules")
@click.argument("monitor_name", metavar="MONITOR")
@click.option("--detector", type=click.Choice(DETECTORS), help="The detector to change.")
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--sensitivity", type=click.FloatRange(0.1, 10), help=">1 alerts sooner, <1 later.")
@click.option("--quiet-hours", metavar="HH:MM-HH:MM", help="Europe/Amsterdam; 'none' clears.")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    help="live, webhook:NAME or email:ADDRESS (repeatable; replaces the list).",
)
@common_options
def rules_command(
    monitor_name: str,
    detector: str | None,
    enabled: bool | None,
    sensitivity: float | None,
    quiet_hours: str | None,
    channels: tuple[str, ...],
    settings: Settings,
) -> None:
    """Show MONITOR's alert rules; with --detector, change that detector's rule first."""
    changing = enabled is not None or sensitivity is not None or quiet_hours or channels
    if changing and detector is None:
        raise click.UsageError("say which rule to change with --detector")
    reads = service_for(settings, read_only=not changing)
    actor = cli_user()
    monitor = _monitor(reads.engine, monitor_name)
    assert monitor.id is not None
    if changing:
        current = {r.detector: r for r in reads.rules(actor, monitor.id)}[str(detector)]
        changes: dict[str, Any] = {}
        if enabled is not None:
            changes["enabled"] = enabled
        if sensitivity is not None:
            changes["sensitivity"] = sensitivity
        if quiet_hours:
            changes["quiet_hours"] = None if quiet_hours == "none" else quiet_hours
        if channels:
            changes["channels"] = tuple(dict.fromkeys(channels))
        rule: AlertRule = msgspec.structs.replace(current, **changes)
        try:
            reads.set_rules(actor, monitor.id, [rule])
        except RuleError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"alert rules of monitor {monitor.name!r} (id {monitor.id}):")
    for rule in reads.rules(actor, monitor.id):
        state = "on " if rule.enabled else "off"
        quiet = f", quiet {rule.quiet_hours}" if rule.quiet_hours else ""
        params = f", {json.dumps(rule.params)}" if rule.params else ""
        click.echo(
            f"  {rule.detector:<9} {state} sensitivity {rule.sensitivity:g}{quiet}"
            f" -> {', '.join(rule.channels) or 'nowhere'}{params}"
        )


@alerts_group.command("deliver")
@common_options
def deliver_command(settings: Settings) -> None:
    """Send what the outbox holds that is due now (one pass; `run` does this continuously)."""
    from stadspuls.alerts.delivery import deliver_once
    from stadspuls.alerts.webhook import ChannelError

    engine = engine_for(settings)
    try:
        done = asyncio.run(deliver_once(engine, settings))
    except ChannelError as error:
        raise click.ClickException(str(error)) from error
    left = outbox.delivery_counts(engine).get("pending", 0)
    click.echo(
        f"delivered {done['delivered']}, to retry {done['retry']}, given up {done['failed']};"
        f" {left} pending in the outbox"
    )
