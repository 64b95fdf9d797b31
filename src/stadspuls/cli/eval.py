"""`stadspuls eval TASK --data FILE.csv`: score a door model on a labelled file, or (TASK
`bursts`) the burst detector on timestamped crisis posts.

Prints the per-class (or per-event) table and, as the last line, one JSON object that other
tools parse: `{"task", "stage", "n", "accuracy", "macro_f1", "posts_per_s"}` for a model
(`--stage fast|accurate`; by default the stage that scores the posts that raise alerts),
`{"events", "detected", "median_delay_h", "false_alerts_per_day"}` for `bursts`
(see `detect/evaluation.py`).
"""

from __future__ import annotations

from pathlib import Path

import click

from stadspuls.enrich.evaluation import (
    STAGES,
    TaskSpec,
    accurate_unavailable,
    default_stage,
    evaluate_file,
    format_report,
)
from stadspuls.enrich.tasks import TASKS, get_task

# Tasks that are not door models: evaluated by their own module, imported when they run.
DETECTOR_TASKS = ("bursts",)


@click.command("eval")
@click.argument("task", type=click.Choice(sorted([*TASKS, *DETECTOR_TASKS])))
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with a text column and a label column (or the task's aliases); for bursts "
    "event,created_at,text with events.json beside it.",
)
@click.option(
    "--where",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Keep only rows where COLUMN equals VALUE (repeatable), e.g. granularity=sentences.",
)
@click.option("--limit", type=int, default=None, help="Score only the first N rows.")
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    default=None,
    help="The door's fast model or the accurate stage (e5 heads, for posts that match a "
    "monitor). Default: the stage that scores the posts that raise alerts, i.e. accurate when "
    "the settings run it (`accurate.enabled`) and the task's head exists, else fast.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (default: ./stadspuls.toml when present): decides the default "
    "--stage.",
)
@click.option(
    "--sensitivity",
    type=click.FloatRange(min=0.05, max=20.0),
    default=None,
    help="bursts: the monitors' detector sensitivity (default: the one chosen on the tuning "
    "events, see detect/evaluation.py).",
)
@click.option(
    "--baseline",
    is_flag=True,
    help="bursts: evaluate the plain EWMA on 10-minute bins (Twitinfo) instead.",
)
def eval_command(
    task: str,
    data: Path,
    where: tuple[str, ...],
    limit: int | None,
    stage: str | None,
    config: Path | None,
    sensitivity: float | None,
    baseline: bool,
) -> None:
    """Evaluate TASK on a labelled CSV file."""
    if task == "bursts":
        if where or limit is not None:
            raise click.UsageError(
                "bursts replays the whole file: --where and --limit do not apply"
            )
        from stadspuls.detect.evaluation import (
            SENSITIVITY,
            EvaluationError,
            evaluate_bursts,
            format_bursts,
        )

        chosen = SENSITIVITY if sensitivity is None else sensitivity
        try:
            burst_report = evaluate_bursts(data, chosen, baseline=baseline)
        except (EvaluationError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(format_bursts(burst_report))
        return
    conditions: dict[str, str] = {}
    for item in where:
        column, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected COLUMN=VALUE, got {item!r}", param_hint="--where")
        conditions[column] = value
    spec = get_task(task)
    if stage is None:
        stage = _default_stage(spec, config)
    try:
        report = evaluate_file(spec, data, where=conditions or None, limit=limit, stage=stage)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_report(report))


def _default_stage(spec: TaskSpec, config: Path | None) -> str:
    """The stage the product scores alerting posts with; says on stderr why it is the fast one
    when the settings run the accurate stage."""
    from stadspuls.enrich.rescoring import accurate_enabled
    from stadspuls.settings import load_settings

    try:
        settings = load_settings(config)
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(f"invalid settings: {error}") from error
    stage_on = accurate_enabled(settings)
    chosen = default_stage(spec, stage_on)
    if stage_on and chosen == "fast":
        why = accurate_unavailable(spec)
        click.echo(f"evaluating the fast stage: the accurate stage of {spec.name}: {why}", err=True)
    return chosen
