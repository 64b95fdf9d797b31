"""The `stadspuls` command: every subcommand is registered here, explicitly.

Subcommands are named here with their one-line help and imported only when they run: the
modules behind them pull in SQLAlchemy, FastAPI and the models, and `stadspuls --help` should
answer at once (`bench/startup.py` measures it).
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import click

from stadspuls import __version__


class Entry(NamedTuple):
    target: str  # "module:attribute" of the click command
    short_help: str


COMMANDS: dict[str, Entry] = {
    "run": Entry("stadspuls.cli.run:run_command", "Serve http://HOST:PORT and collect posts."),
    "ingest": Entry("stadspuls.cli.ingest:ingest_command", "Import FILES of collected posts."),
    "search": Entry(
        "stadspuls.cli.search:search_command", "Search the stored posts with a monitor query."
    ),
    "monitor": Entry(
        "stadspuls.cli.monitor:monitor_group",
        "Monitors: named queries with a purpose and legal basis.",
    ),
    "alerts": Entry(
        "stadspuls.cli.alerts:alerts_group",
        "Alerts: list, show, ack, resolve, rules per monitor, deliver.",
    ),
    "retention": Entry(
        "stadspuls.cli.retention:retention_group",
        "Retention of posts (runs hourly inside `stadspuls run`).",
    ),
    "cases": Entry(
        "stadspuls.cli.cases:cases_group", "Citizens' questions and tips: list, show, purge."
    ),
    "sources": Entry("stadspuls.cli.sources:sources_group", "Configured sources."),
    "user": Entry(
        "stadspuls.cli.users:user_group",
        "Accounts of the dashboard and the API: add, list, disable, roles, tokens.",
    ),
    "db": Entry("stadspuls.cli.db:db_group", "Database schema management."),
    "inbox": Entry(
        "stadspuls.cli.inbox:inbox_group",
        "The inbox: departments, routing rules, reply templates, calls for tips.",
    ),
    "publish": Entry(
        "stadspuls.cli.publish:publish_group",
        "Publishing: list, show, approve, reject, cancel, crisis, templates, deliver.",
    ),
    "volunteers": Entry(
        "stadspuls.cli.volunteers:volunteers_group",
        "Registered volunteers: counts and the retention purge (no list exists).",
    ),
    "worker": Entry(
        "stadspuls.cli.worker:worker_group",
        "The stages as separate processes on a broker: collector, door, writer, health.",
    ),
    "eval": Entry("stadspuls.cli.eval:eval_command", "Evaluate TASK on a labelled CSV file."),
    "train": Entry("stadspuls.cli.train:train_command", "Train TASK's model from the shared data."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when they are invoked (or their help is shown)."""

    def __init__(self, *args: object, lazy: dict[str, Entry], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self.lazy[cmd_name].target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name].target} is not a click command")
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing uses the short help registered above, so that it imports nothing.
        rows = [
            (name, self.lazy[name].short_help if name in self.lazy else self._short(ctx, name))
            for name in self.list_commands(ctx)
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _short(self, ctx: click.Context, name: str) -> str:
        command = self.get_command(ctx, name)
        return command.get_short_help_str() if command is not None else ""


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="stadspuls")
def main() -> None:
    """Stadspuls: watch public social media for public safety, with privacy built in."""
