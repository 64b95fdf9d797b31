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
