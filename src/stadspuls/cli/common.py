"""Options shared by every command: `--db URL` and `--config FILE` work everywhere."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlalchemy as sa

from stadspuls.settings import Settings, load_settings
from stadspuls.store.database import open_store

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
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def engine_for(settings: Settings) -> sa.Engine:
    try:
        return open_store(settings.db_url)
    except sa.exc.OperationalError as error:
        raise click.ClickException(
            f"cannot open database {settings.db_url}: {error.orig}"
        ) from error
    except ValueError as error:
        raise click.ClickException(str(error)) from error


def pseudonym_function(settings: Settings) -> Callable[[str], str]:
    """The keyed pseudonym of a handle, to match `@mentions` in queries."""
    from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key

    return Pseudonymiser(load_or_create_key(settings.key_file)).pseudonym


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
