"""Options shared by every command: `--db URL` and `--config FILE` work everywhere."""

from __future__ import annotations

import contextlib
import functools
import getpass
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import sqlalchemy as sa

from stadspuls.access.roles import cli_actor
from stadspuls.records import Actor
from stadspuls.settings import Settings, load_settings
from stadspuls.store.database import NoStore, StoreError, open_store

if TYPE_CHECKING:
    from stadspuls.service.reads import ReadService

F = TypeVar("F", bound=Callable[..., Any])


def common_options(func: F) -> F:
    """Add --db and --config; the command receives `settings` instead of them."""

    @click.option(
        "--db",
        "db_url",
        metavar="URL",
        envvar="STADSPULS_DB_URL",
        help="Database URL: sqlite:///var/stadspuls.db (default) or postgresql://user@host/db.",
    )
    @click.option(
        "--config",
        type=click.Path(path_type=Path, dir_okay=False),
        help="TOML settings file (default: ./stadspuls.toml when present).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, db_url: str | None, config: Path | None, **kwargs: Any) -> Any:
        try:
            settings = load_settings(config, db_url=db_url)
        except (ValueError, FileNotFoundError) as error:
            raise click.ClickException(f"invalid settings: {error}") from error
        try:
            return func(*args, settings=settings, **kwargs)
        except Exception as error:
            if isinstance(error, _database_errors()):
                # A database that fails mid-command (disk full, lost connection, made
                # read-only) gets one line; what was committed before stays.
                orig = getattr(error, "orig", None) or error
                raise click.ClickException(f"database error: {orig}") from error
            raise

    return wrapper  # type: ignore[return-value]


def _database_errors() -> tuple[type[Exception], ...]:
    # Operational errors only (disk full, locked, read-only, connection lost): a programming
    # error in our SQL keeps its traceback.
    errors: list[type[Exception]] = [sa.exc.OperationalError, sqlite3.OperationalError]
    psycopg = sys.modules.get("psycopg")  # only where PostgreSQL is in use (loaded already)
    if psycopg is not None:
        errors.append(psycopg.OperationalError)
    return tuple(errors)


def engine_for(settings: Settings, *, read_only: bool = False) -> sa.Engine:
    """The database of `settings`; `read_only` for commands that only read (never migrates)."""
    try:
        return open_store(settings.db_url, read_only=read_only, cache_mib=settings.sqlite_cache_mib)
    except (StoreError, ValueError) as error:
        raise click.ClickException(str(error)) from error


def reader_for(settings: Settings) -> sa.Engine | None:
    """The database opened read-only, or None where none has been created yet."""
    try:
        return open_store(settings.db_url, read_only=True, cache_mib=settings.sqlite_cache_mib)
    except NoStore:
        return None
    except (StoreError, ValueError) as error:
        raise click.ClickException(str(error)) from error


def pseudonym_function(settings: Settings) -> Callable[[str], str]:
    """The keyed pseudonym of a handle, to match `@mentions` in queries.

    The key is read at the first mention, so a query without one needs no key file (a reader
    of a read-only database may not be allowed to read the key).
    """
    from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key

    loaded: list[Callable[[str], str]] = []

    def pseudonym(handle: str) -> str:
        if not loaded:
            try:
                key = load_or_create_key(settings.key_file)
            except (OSError, ValueError) as error:
                raise click.ClickException(
                    f"cannot read the pseudonymisation key {settings.key_file} that @mentions"
                    f" need: {error}"
                ) from error
            loaded.append(Pseudonymiser(key).pseudonym)
        return loaded[0](handle)

    return pseudonym


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 date or datetime; naive values are UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or datetime") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def cli_user() -> Actor:
    """Who runs the command: the OS login name. The command line acts as an admin who may
    re-identify, because whoever runs it holds the database and its keys anyway; what it
    reads and changes is audited under that name (via "cli")."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        name = f"uid-{os.getuid()}"
    return cli_actor(name, "admin", reidentify=True)


def service_for(
    settings: Settings, *, read_only: bool = False, existing: bool = False
) -> ReadService:
    """The read service over the database of `settings`. Searches from the command line may
    run as long as the settings allow at most (an hour), not the web's few seconds.

    `existing`: a command that reads (and writes only its audit rows) neither creates nor
    migrates a database: one that is missing or older says so in one line first."""
    from stadspuls.service.reads import ReadService

    if existing and not read_only:
        engine_for(settings, read_only=True).dispose()
    patient = settings.model_copy(update={"search_timeout_s": 3600.0})
    engine = engine_for(settings, read_only=read_only)
    # Closed with the command (a PostgreSQL connection left to the garbage collector warns).
    click.get_current_context().call_on_close(engine.dispose)
    return ReadService(engine, patient, pseudonymise=pseudonym_function(settings))


@contextlib.contextmanager
def refusal() -> Iterator[None]:
    """What the read service refuses, as one line for the user."""
    from stadspuls.monitors import MonitorError
    from stadspuls.query.parser import QuerySyntaxError
    from stadspuls.service.errors import Forbidden, NotFound, ReasonRequired
    from stadspuls.store.alerts import AlertStateError
    from stadspuls.store.monitors import MonitorExists
    from stadspuls.store.search import SearchTimeout

    try:
        yield
    except QuerySyntaxError as error:
        raise click.ClickException(f"query error: {error}") from error
    except ReasonRequired as error:
        raise click.ClickException(f"{error} (--reason)") from error
    except (
        Forbidden, NotFound, MonitorError, MonitorExists, AlertStateError, SearchTimeout
    ) as error:  # fmt: skip
        raise click.ClickException(str(error)) from error
