"""`stadspuls retention …`: apply the retention periods now, and show what was deleted."""

from __future__ import annotations

import click

from stadspuls.cli.common import common_options, engine_for
from stadspuls.settings import Settings
from stadspuls.store.retention import apply_retention, retention_history


@click.group("retention")
def retention_group() -> None:
    """Retention of posts (runs hourly inside `stadspuls run`)."""


@retention_group.command("run")
@common_options
def run_command(settings: Settings) -> None:
    """Delete posts older than every retention period that covers them."""
    result = apply_retention(engine_for(settings), default_days=settings.retention_days)
    click.echo(
        f"deleted {result.total} posts: {result.unmatched} matched by no monitor and older than"
        f" {settings.retention_days} days, {result.expired} past their monitors' periods"
    )


@retention_group.command("log")
@common_options
def log_command(settings: Settings) -> None:
    """What earlier runs deleted (counts only)."""
    for when, total, details in retention_history(engine_for(settings)):
        click.echo(f"{when:%Y-%m-%d %H:%M} UTC  deleted {total}  {details}")
