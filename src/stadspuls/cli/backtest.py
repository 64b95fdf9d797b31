"""`stadspuls alerts backtest FILE --query QUERY`: the alerts a monitor would have raised.

Replays one or more files (any format `ingest` reads, P2000 CSV included) in time order through
the door, a throw-away monitor and the detectors (`detect/replay.py`); nothing is stored. Prints
each alert as it would have been opened and, as the last line, one JSON object
`{"posts", "alerts", "opened"}` (opened: ISO-8601 UTC times) that other tools parse. This is how
a duty officer tunes a monitor's sensitivity on last year's New Year's Eve.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from stadspuls.detect.registry import available
from stadspuls.detect.replay import Replay, read_posts
from stadspuls.query.parser import QuerySyntaxError, parse
from stadspuls.records import Alert
from stadspuls.sources.files import FileFormatError

SHORT = 80  # characters of a representative post shown per alert


def _line(alert: Alert, text: str) -> str:
    opened = alert.opened_at.isoformat().replace("+00:00", "Z")
    shown = " ".join(text.split())
    if len(shown) > SHORT:
        shown = shown[: SHORT - 1] + "…"
    return (
        f"{opened}  {alert.detector:<8} {alert.severity:<6} observed {alert.observed:g}"
        f" vs expected {alert.expected:g}  {alert.summary}"
        + (f"  terms: {', '.join(alert.top_terms)}" if alert.top_terms else "")
        + (f"\n    {shown}" if shown else "")
    )


@click.command("backtest")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--query", "query", required=True, help="The monitor's query, e.g. 'brand OR rook'.")
@click.option(
    "--detector",
    "detectors",
    multiple=True,
    help="Detector to run (repeatable; default: burst).",
)
@click.option(
    "--sensitivity",
    type=click.FloatRange(min=0.05, max=20.0),
    default=1.0,
    show_default=True,
    help="> 1 raises alerts sooner, < 1 later.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one block per alert; json: one JSON object per alert. Last line: the summary.",
)
def backtest_command(
    files: tuple[Path, ...],
    query: str,
    detectors: tuple[str, ...],
    sensitivity: float,
    output: str,
) -> None:
    """Replay FILE(S) through a throw-away monitor and print the alerts it would have raised."""
    try:
        parse(query)
    except QuerySyntaxError as error:
        raise click.BadParameter(str(error), param_hint="--query") from None
    chosen = detectors or ("burst",)
    unknown = [name for name in chosen if name not in available()]
    if unknown:
        known = ", ".join(sorted(available()))
        raise click.BadParameter(f"unknown detector {unknown[0]!r}; known: {known}")
    try:
        posts, _ = read_posts(files)
    except (FileFormatError, OSError) as error:
        raise click.ClickException(str(error)) from None
    with Replay({1: query}, detectors=chosen, sensitivity=sensitivity) as replay:
        by_id: dict[str, str] = {}
        for start in range(0, len(posts), 1000):
            for post in replay.feed(posts[start : start + 1000]):
                by_id[post.id] = post.text
        for opened in replay.opened:
            alert = opened.alert
            sample = next((by_id[i] for i in alert.post_ids if i in by_id), "")
            if output == "json":
                click.echo(
                    json.dumps(
                        {
                            "opened_at": _iso(alert),
                            "detector": alert.detector,
                            "severity": alert.severity,
                            "observed": alert.observed,
                            "expected": alert.expected,
                            "summary": alert.summary,
                            "top_terms": list(alert.top_terms),
                            "post": sample,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                click.echo(_line(alert, sample))
        summary = {
            "posts": replay.posts,
            "alerts": len(replay.alerts),
            "opened": [_iso(alert) for alert in replay.alerts],
        }
    click.echo(json.dumps(summary))


def _iso(alert: Alert) -> str:
    return alert.opened_at.isoformat().replace("+00:00", "Z")
