"""`stadspuls user …`: accounts of the dashboard and the API. Every change is audited under
the name of whoever runs the command (their login name on this machine)."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa

from stadspuls.access import accounts
from stadspuls.access.roles import cli_actor
from stadspuls.cli.common import common_options, engine_for
from stadspuls.records import ROLES, Actor, User
from stadspuls.settings import Settings
from stadspuls.store import users as store

ROLE = click.Choice(ROLES)


@click.group("user")
def user_group() -> None:
    """Accounts: add, list, disable, enable, passwd, role, reidentify, token, totp-reset."""


def _actor() -> Actor:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "cli"  # no login name (a container without /etc/passwd entry)
    return cli_actor(f"cli:{name}")


@contextmanager
def _changes() -> Iterator[None]:
    try:
        yield
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise click.ClickException("--password-stdin: no password on standard input")
        return password
    entered: str = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat")
    return entered


def _with_engine(settings: Settings, work: Callable[[sa.Engine], Any]) -> Any:
    engine = engine_for(settings)
    try:
        with _changes():
            return work(engine)
    finally:
        engine.dispose()


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=ROLE, default="viewer", show_default=True)
@click.option("--reidentify", is_flag=True, help="Grant re-identification (handle → pseudonym).")
@click.option("--display-name", default="", help="The name shown in the dashboard.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@common_options
def add_command(
    name: str,
    role: str,
    reidentify: bool,
    display_name: str,
    password_stdin: bool,
    settings: Settings,
) -> None:
    """Add user NAME; asks for the password twice (at least 12 characters)."""
    with _changes():
        accounts.check_username(name)
    password = _read_password(password_stdin)
    user: User = _with_engine(
        settings,
        lambda engine: accounts.add_user(
            engine,
            _actor(),
            name,
            role,
            password=password,
            reidentify=reidentify,
            display_name=display_name,
        ),
    )
    extra = ", may re-identify" if user.reidentify else ""
    click.echo(f"added {user.username} ({user.role}{extra})")


def _when(user: User) -> str:
    return "" if user.last_login_at is None else user.last_login_at.isoformat(timespec="seconds")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@common_options
def list_command(as_json: bool, settings: Settings) -> None:
    """List the users: role, re-identification, second factor, active, last login."""
    found: list[User] = _with_engine(settings, store.list_users)
    if as_json:
        rows = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "reidentify": u.reidentify,
                "totp": u.totp,
                "active": u.active,
                "oidc": u.oidc_subject is not None,
                "last_login": _when(u) or None,
            }
            for u in found
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not found:
        click.echo("no users yet: stadspuls user add NAME --role admin")
        return
    header = ("user", "role", "re-identify", "totp", "active", "last login")
    table = [header] + [
        (
            u.username,
            u.role,
            "yes" if u.reidentify else "no",
            "on" if u.totp else "off",
            "yes" if u.active else "no",
            _when(u) or "never",
        )
        for u in found
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@user_group.command("disable")
@click.argument("name")
@common_options
def disable_command(name: str, settings: Settings) -> None:
    """Disable NAME: their sessions end and their tokens stop working."""
    _with_engine(settings, lambda engine: accounts.set_active(engine, _actor(), name, False))
    click.echo(f"disabled {name}")


@user_group.command("enable")
@click.argument("name")
@common_options
def enable_command(name: str, settings: Settings) -> None:
    """Enable NAME again."""
    _with_engine(settings, lambda engine: accounts.set_active(engine, _actor(), name, True))
    click.echo(f"enabled {name}")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@common_options
def passwd_command(name: str, password_stdin: bool, settings: Settings) -> None:
    """Set a new password for NAME (their sessions end)."""
    engine = engine_for(settings)
    try:
        if store.find_user(engine, name) is None:
            raise click.ClickException(f"no user {name!r}")
        password = _read_password(password_stdin)
        with _changes():
            accounts.set_password(engine, _actor(), name, password, keep_session=None)
    finally:
        engine.dispose()
    click.echo(f"new password set for {name}")


@user_group.command("role")
@click.argument("name")
@click.argument("role", type=ROLE)
@common_options
def role_command(name: str, role: str, settings: Settings) -> None:
    """Give NAME the role ROLE (viewer, analyst or admin)."""
    _with_engine(settings, lambda engine: accounts.set_role(engine, _actor(), name, role))
    click.echo(f"{name} is now {role}")


@user_group.command("reidentify")
@click.argument("name")
@click.argument("state", type=click.Choice(["on", "off"]))
@common_options
def reidentify_command(name: str, state: str, settings: Settings) -> None:
    """Grant (on) or revoke (off) NAME's permission to re-identify."""
    granted = state == "on"
    _with_engine(settings, lambda engine: accounts.set_reidentify(engine, _actor(), name, granted))
    click.echo(f"{name} {'may' if granted else 'may no longer'} re-identify")


@user_group.command("token")
@click.argument("name")
@click.option("--name", "label", required=True, help="What the token is for, e.g. 'grafana'.")
@common_options
def token_command(name: str, label: str, settings: Settings) -> None:
    """Create a personal API token for NAME and print it (once: it is not stored)."""
    token: str = _with_engine(
        settings, lambda engine: accounts.add_token(engine, _actor(), name, label)
    )
    click.echo(token)
    click.echo("Keep it: it is not shown again. Use it as: Authorization: Bearer <token>", err=True)


@user_group.command("totp-reset")
@click.argument("name")
@common_options
def totp_reset_command(name: str, settings: Settings) -> None:
    """Switch NAME's second factor off (a lost phone); they set it up again on /account."""
    _with_engine(settings, lambda engine: accounts.reset_totp(engine, _actor(), name))
    click.echo(f"second factor of {name} switched off")
