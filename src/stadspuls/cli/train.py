"""`stadspuls train TASK`: run the task's training script on ../shared/data.

Training needs the shared, non-redistributable data next to the repository (or `--data-dir`);
the script writes its artefact and model card into src/stadspuls/enrich/models/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from stadspuls.enrich.tasks import TASKS, get_task

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"


@click.command("train")
@click.argument("task", type=click.Choice(sorted(TASKS)) if TASKS else str)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA,
    show_default=True,
    help="The shared data folder.",
)
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def train_command(task: str, data_dir: Path, extra: tuple[str, ...]) -> None:
    """Train TASK's model from the shared data (extra arguments go to the script)."""
    spec = get_task(task)
    if spec.train_script is None:
        raise click.ClickException(f"task {task!r} has no training script")
    script = REPO_ROOT / spec.train_script
    if not script.is_file():
        raise click.ClickException(f"training script {script} not found (needs a source checkout)")
    if not data_dir.is_dir():
        raise click.ClickException(
            f"shared data not found at {data_dir}: training needs ../shared/data or --data-dir"
        )
    command = [sys.executable, str(script), "--data-dir", str(data_dir), *extra]
    click.echo("running: " + " ".join(command), err=True)
    # The script path comes from the task registry, not from the user.
    result = subprocess.run(command, cwd=REPO_ROOT, check=False)  # noqa: S603
    if result.returncode:
        raise SystemExit(result.returncode)
