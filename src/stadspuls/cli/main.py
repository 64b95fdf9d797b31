"""The `stadspuls` command: every subcommand is registered here, explicitly."""

from __future__ import annotations

import click

from stadspuls import __version__
from stadspuls.cli.db import db_group
from stadspuls.cli.eval import eval_command
from stadspuls.cli.ingest import ingest_command
from stadspuls.cli.monitor import monitor_group
from stadspuls.cli.retention import retention_group
from stadspuls.cli.run import run_command
from stadspuls.cli.search import search_command
from stadspuls.cli.sources import sources_group
from stadspuls.cli.train import train_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stadspuls")
def main() -> None:
    """Stadspuls: watch public social media for public safety, with privacy built in."""


main.add_command(run_command)
main.add_command(ingest_command)
main.add_command(search_command)
main.add_command(monitor_group)
main.add_command(retention_group)
main.add_command(sources_group)
main.add_command(db_group)
main.add_command(eval_command)
main.add_command(train_command)
