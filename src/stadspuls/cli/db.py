"""`stadspuls db …`: schema migrations, and how far the consumers of stored posts are."""

from __future__ import annotations

import click

from stadspuls.cli.common import common_options, reader_for
from stadspuls.settings import Settings
from stadspuls.store import migrate
from stadspuls.store.database import create_engine


@click.group("db")
def db_group() -> None:
    """Database schema management."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@common_options
def upgrade(revision: str, settings: Settings) -> None:
    """Migrate the database schema to REVISION (default: the newest)."""
    engine = create_engine(settings.db_url)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    click.echo(f"database {engine.url.render_as_string()}: {before or 'empty'} -> {after}")


@db_group.command("current")
@common_options
def current(settings: Settings) -> None:
    """Print the database's schema revision and the newest one available."""
    engine = create_engine(settings.db_url)
    click.echo(f"current: {migrate.current_revision(engine) or 'empty'}")
    click.echo(f"head:    {migrate.head_revision()}")


@db_group.command("consumers")
@common_options
def consumers(settings: Settings) -> None:
    """One line per consumer of stored posts (monitor linker, detectors): its cursor, how many
    posts it is behind, its failures and last error."""
    from stadspuls.consumers import describe
    from stadspuls.store.consumers import consumer_statuses

    engine = reader_for(settings)
    statuses = consumer_statuses(engine) if engine is not None else []
    if not statuses:
        click.echo("no consumer has run yet")
    for status in statuses:
        click.echo(describe(status))


@db_group.command("rollups")
@click.option(
    "--rebuild",
    is_flag=True,
    required=True,
    help="Recount the pre-aggregated counts from the stored posts (the only action so far).",
)
@click.option("--monitor", "name", metavar="NAME", help="Only this monitor (default: all).")
@common_options
def rollups_command(rebuild: bool, name: str | None, settings: Settings) -> None:
    """The monitors' pre-aggregated counts per hour and day (what the dashboard shows):
    `--rebuild` recounts them from the stored posts. Posts deleted since stay out of the recount."""
    import time

    from stadspuls import rollups
    from stadspuls.store import monitors as monitor_store
    from stadspuls.store.database import open_store

    engine = open_store(settings.db_url)
    try:
        monitor_id = None
        if name is not None:
            found = monitor_store.find_monitor(engine, name)
            if found is None:
                raise click.ClickException(f"no monitor named {name!r}")
            monitor_id = found.id
        started = time.perf_counter()
        counted = rollups.rebuild(engine, monitor_id)
    finally:
        engine.dispose()
    which = f"monitor {name}" if name is not None else "every monitor"
    click.echo(
        f"rebuilt the rollups of {which}: {counted} linked posts counted "
        f"in {time.perf_counter() - started:.1f} s"
    )
