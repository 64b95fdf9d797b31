"""What the `stadspuls inbox` commands share: the inbox admin over the configured database,
its refusals as one line, and a department by its short name."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.checks import AdminError, AlreadyExists
from stadspuls.cases.records import Department
from stadspuls.cli.common import cli_user, engine_for
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.settings import Settings


def admin_for(settings: Settings) -> CaseAdmin:
    engine = engine_for(settings)
    click.get_current_context().call_on_close(engine.dispose)
    return CaseAdmin(engine, settings)


@contextlib.contextmanager
def refused() -> Iterator[None]:
    try:
        yield
    except QuerySyntaxError as error:
        raise click.ClickException(f"query error: {error}") from error
    except (AdminError, AlreadyExists, Forbidden, NotFound) as error:
        raise click.ClickException(str(error)) from error


def department_named(admin: CaseAdmin, slug: str) -> Department:
    for department in admin.departments(cli_user()):
        if department.slug == slug:
            return department
    raise click.ClickException(f"no department {slug!r} (see: stadspuls inbox department list)")
