"""`stadspuls volunteers …`: the register's numbers and its retention purge. There is no list:
volunteers' names, addresses and homes are sealed and shown to nobody, here neither."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa

from stadspuls.cli.common import common_options, engine_for, reader_for
from stadspuls.settings import Settings

if TYPE_CHECKING:
    from stadspuls.volunteers.registry import VolunteerService


@click.group("volunteers")
def volunteers_group() -> None:
    """Registered volunteers: counts, purge (no list exists)."""


def _service(engine: sa.Engine, settings: Settings) -> VolunteerService:
    """The register as the web and the runner build it (its keys created beside the
    pseudonymisation key on first use; the [smtp] server for the reminders, none configured:
    no reminder goes, none is counted)."""
    from stadspuls.volunteers.services import build_services

    return build_services(engine, settings).volunteers


@volunteers_group.command("counts")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@common_options
def counts_command(as_json: bool, settings: Settings) -> None:
    """How many volunteers are pending (e-mail not confirmed), active and paused."""
    from stadspuls.store import volunteers as store

    engine = reader_for(settings)
    counts = {"pending": 0, "active": 0, "paused": 0}
    if engine is not None:
        with engine.connect() as conn:
            counts = store.counts(conn)
        engine.dispose()
    if as_json:
        click.echo(json.dumps(counts))
        return
    for state, n in counts.items():
        click.echo(f"{state:<8} {n:>7}")
    click.echo(f"{'total':<8} {sum(counts.values()):>7}")


@volunteers_group.command("purge")
@click.option(
    "--base-url",
    help="Where the reminders' links point (default: [inbox] public_url).",
)
@common_options
def purge_command(base_url: str | None, settings: Settings) -> None:
    """Apply the retention now: delete unconfirmed registrations, remind inactive volunteers
    and delete them after the grace period, delete ended call-outs past `callout_days`."""
    engine = engine_for(settings)
    done = _service(engine, settings).purge(base_url=base_url or "")
    engine.dispose()
    click.echo(
        f"deleted {done['unconfirmed']} unconfirmed registrations and {done['inactive']} "
        f"inactive volunteers (after a reminder), reminded {done['reminded']}, deleted "
        f"{done['callouts']} ended call-outs"
    )
