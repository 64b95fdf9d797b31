"""`stadspuls retention …`: apply the retention periods now (or see what that would delete), and
show what earlier runs deleted."""

from __future__ import annotations

import click

from stadspuls.cli.common import common_options, engine_for
from stadspuls.settings import Settings
from stadspuls.store.retention import apply_retention, plan_retention, retention_history


@click.group("retention")
def retention_group() -> None:
    """Retention of posts (runs hourly inside `stadspuls run`)."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only show what a run would delete now.")
@common_options
def run_command(dry_run: bool, settings: Settings) -> None:
    """Delete posts older than every retention period that covers them."""
    days = settings.retention_days
    if dry_run:
        plan = plan_retention(engine_for(settings, read_only=True), default_days=days)
        click.echo(f"would delete {plan.total} posts: {plan.describe(days)} (dry run)")
        return
    result = apply_retention(engine_for(settings), default_days=days)
    click.echo(f"deleted {result.total} posts: {result.describe(days)}")


@retention_group.command("log")
@common_options
def log_command(settings: Settings) -> None:
    """What earlier runs deleted (counts per reason only)."""
    for when, total, details in retention_history(engine_for(settings, read_only=True)):
        click.echo(f"{when:%Y-%m-%d %H:%M} UTC  deleted {total}  {details}")
