"""`stadspuls eval TASK --data FILE.csv`: score a door model on a labelled file.

Prints the per-class table and, as the last line, one JSON object
`{"task", "n", "accuracy", "macro_f1", "posts_per_s"}` that other tools parse.
"""

from __future__ import annotations

from pathlib import Path

import click

from stadspuls.enrich.evaluation import evaluate_file, format_report
from stadspuls.enrich.tasks import TASKS, get_task


@click.command("eval")
@click.argument("task", type=click.Choice(sorted(TASKS)) if TASKS else str)
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with a text column and a label column (or the task's aliases).",
)
@click.option(
    "--where",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Keep only rows where COLUMN equals VALUE (repeatable), e.g. granularity=sentences.",
)
@click.option("--limit", type=int, default=None, help="Score only the first N rows.")
def eval_command(task: str, data: Path, where: tuple[str, ...], limit: int | None) -> None:
    """Evaluate TASK on a labelled CSV file."""
    conditions: dict[str, str] = {}
    for item in where:
        column, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected COLUMN=VALUE, got {item!r}", param_hint="--where")
        conditions[column] = value
    spec = get_task(task)
    try:
        report = evaluate_file(spec, data, where=conditions or None, limit=limit)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_report(report))
