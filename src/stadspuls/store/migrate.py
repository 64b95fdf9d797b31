"""Schema migrations (Alembic), run programmatically: `stadspuls db upgrade` and at start-up.

Several processes may start on a new database at once (two imports, an import and `run`): the
migration runs under the database's write lock (BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL), so the second waits and then finds the schema already at the revision it wants.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x5354_4144_4D47  # "STADMG"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _locked(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that holds the database's migration lock."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            yield connection
        return
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        # The sqlite3 module opens transactions itself, and lazily; take the write lock first.
        previous = dbapi.isolation_level
        dbapi.isolation_level = None
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            dbapi.isolation_level = previous


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    config = alembic_config()
    with _locked(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    config = alembic_config()
    with _locked(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
