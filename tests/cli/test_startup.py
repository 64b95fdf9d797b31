"""Start-up cost: `stadspuls --help` imports no heavy module, and every registered command loads.

Timing is measured by bench/startup.py, not here (a loaded test machine would make it flaky);
what makes start-up slow is importing the heavy modules, and that is checked exactly."""

from __future__ import annotations

import json
import subprocess
import sys

import click
from click.testing import CliRunner

from stadspuls.cli.main import COMMANDS, main

HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
    "numpy",
    "scipy",
    "sklearn",
    "lingua",
    "fasttext",
    "pydantic",
    "httpx",
    "websockets",
    "tqdm",
)

PROBE = """
import json, sys
from stadspuls.cli.main import main
try:
    main(sys.argv[1:], prog_name="stadspuls")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    modules = json.loads(result.stdout.splitlines()[-1])
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_heavy_module() -> None:
    loaded = imported_by("--help")
    assert loaded & set(HEAVY) == set()
    assert "stadspuls" in loaded


def test_every_registered_command_loads_under_its_name() -> None:
    ctx = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert isinstance(command, click.Command)
        assert command.name == name


def test_help_lists_every_command_and_a_subcommand_still_runs() -> None:
    listing = CliRunner().invoke(main, ["--help"])
    assert listing.exit_code == 0
    for name, entry in COMMANDS.items():
        assert f"{name}" in listing.output
        assert entry.short_help[:30] in listing.output
    sub = CliRunner().invoke(main, ["sources", "--help"])
    assert sub.exit_code == 0
    assert "check" in sub.output
    assert CliRunner().invoke(main, ["nosuchcommand"]).exit_code == 2
