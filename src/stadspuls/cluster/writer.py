"""The writer process (docs/cluster.md). Skeleton: the process follows in the next commits."""

from __future__ import annotations

import click

from stadspuls.settings import Settings


def run_writer(settings: Settings, *, name: str) -> None:
    raise click.ClickException("stadspuls worker writer: not built yet on this branch")
