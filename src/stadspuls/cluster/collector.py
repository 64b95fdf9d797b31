"""The collector process (docs/cluster.md). Skeleton: the process follows in the next commits."""

from __future__ import annotations

from pathlib import Path

import click

from stadspuls.settings import Settings


def run_collector(settings: Settings, *, name: str, jetstream_file: Path | None = None) -> None:
    raise click.ClickException("stadspuls worker collector: not built yet on this branch")
