"""`stadspuls ingest FILE...`: import files of collected posts through the door into the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
from tqdm import tqdm

from stadspuls.cli.common import (
    common_options,
    configure_logging,
    engine_for,
    pseudonym_function,
)
from stadspuls.enrich.door import start_door
from stadspuls.enrich.worker import DoorProcess
from stadspuls.monitors import MonitorLinker
from stadspuls.pipeline import Pipeline
from stadspuls.records import Checkpoint, Post, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import FORMATS, FileFormatError, detect_format, iter_file, stream_name
from stadspuls.store.posts import load_cursors
from stadspuls.store.writer import Batch


@click.command("ingest")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    help="File format (detected from the content when omitted).",
)
@click.option("--restart", is_flag=True, help="Read files from the start, not from the last stop.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@common_options
def ingest_command(
    files: tuple[Path, ...],
    fmt: str | None,
    restart: bool,
    quiet: bool,
    verbose: int,
    settings: Settings,
) -> None:
    """Import FILES (JSONL/CSV, gzip allowed): Jetstream events, Mastodon statuses, X/Twitter
    API v2 tweets, 4CAT NDJSON exports or a generic CSV (text,created_at[,id,author,url,lang,
    lat,lon]). An interrupted import resumes where it stopped; posts already stored are skipped.
    """
    configure_logging(verbose)
    formats = {}
    for path in files:
        try:
            formats[path] = fmt or detect_format(path)
        except FileFormatError as error:
            raise click.ClickException(str(error)) from error
    engine = engine_for(settings)
    cursors = {} if restart else load_cursors(engine)
    linker = MonitorLinker(engine, pseudonymise=pseudonym_function(settings))
    linker.catch_up()
    door = start_door(settings)
    pipeline = Pipeline(engine, door, sinks=[linker])
    try:
        for path in files:
            _ingest_file(pipeline, path, formats[path], cursors, settings.batch_size, quiet)
    finally:
        pipeline.close()
        if isinstance(door, DoorProcess):
            door.close()
        engine.dispose()
    stats = pipeline.stats
    click.echo(
        f"stored {stats.inserted} new posts; {stats.already_stored} were already stored;"
        f" {stats.deleted} deleted"
    )


def _ingest_file(
    pipeline: Pipeline,
    path: Path,
    fmt: str,
    cursors: dict[str, str],
    batch_size: int,
    quiet: bool,
) -> None:
    name = stream_name(path)
    done = int(cursors.get(name, "0"))
    stats = SourceStats()
    read = 0

    def batches() -> Iterator[tuple[list[SourceItem], Batch | None]]:
        nonlocal read
        pending: list[SourceItem] = []
        reported_malformed = 0
        index = 0

        def batch() -> tuple[list[SourceItem], Batch]:
            nonlocal reported_malformed
            counters = Batch()
            for item in pending:
                if isinstance(item, Post):
                    counters.count(item.source, "received")
            if stats.malformed > reported_malformed:
                counters.count(f"file:{fmt}", "malformed", stats.malformed - reported_malformed)
                reported_malformed = stats.malformed
            return [*pending, Checkpoint(name, str(index))], counters

        with tqdm(desc=path.name, unit=" posts", disable=quiet, initial=done) as bar:
            for index, item in enumerate(iter_file(path, fmt, stats), start=1):
                if index <= done:
                    continue
                pending.append(item)
                bar.update()
                if len(pending) >= batch_size:
                    yield batch()
                    pending = []
            read = index
            if index > done or stats.malformed > reported_malformed:
                yield batch()

    try:
        pipeline.process_all(batches())
    except FileFormatError as error:
        raise click.ClickException(str(error)) from error
    if read <= done and done:
        click.echo(f"{path}: already imported up to item {done} (use --restart to read again)")
    skipped = {k: n for k, n in stats.extra.items() if k.startswith("skipped: ")}
    if skipped:
        reasons = ", ".join(
            f"{n} {k.removeprefix('skipped: ')}" for k, n in sorted(skipped.items())
        )
        click.echo(f"{path}: not imported, as not public: {reasons}", err=True)
    if stats.malformed:
        click.echo(
            f"{path}: skipped {stats.malformed} malformed record(s); last: {stats.last_error}",
            err=True,
        )
