"""Documentation that cannot drift: every command is in the README."""

from __future__ import annotations

from pathlib import Path

import click

from stadspuls.cli.main import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "stadspuls") -> list[str]:
    # list_commands/get_command, not `group.commands`: the top group imports its commands lazily.
    ctx = click.Context(group)
    names = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


def test_every_command_is_in_the_readme() -> None:
    missing = []
    for full in _commands(main):
        *parents, last = full.split(" ")
        # "stadspuls monitor list | show NAME" documents the siblings of a group on one line.
        parent = " ".join(parents)
        if full not in README and not any(
            line.strip().startswith(parent) and last in line.split() for line in README.splitlines()
        ):
            missing.append(full)
    assert missing == []
