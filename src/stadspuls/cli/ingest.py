"""`stadspuls ingest FILE...`: import files of collected posts through the door into the store.

An import is a deliberate act: it has a purpose, a legal basis and a retention period (asked
for on a terminal, required otherwise), recorded in `imports` with a report per file. Each file
is read on its own: one that cannot be read (or breaks off half-way) is reported in one line,
what was read before stays stored, the other files go on, and the exit status says so.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stadspuls.cli.common import (
    common_options,
    configure_logging,
    engine_for,
    pseudonym_function,
)
from stadspuls.records import LEGAL_BASES, Checkpoint, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import FORMATS, FileFormatError, detect_format, iter_file, stream_name
from stadspuls.store.writer import Batch

if TYPE_CHECKING:
    from stadspuls.pipeline import Pipeline, PipelineStats

BASIS = click.Choice(sorted(LEGAL_BASES))
RETENTION = click.IntRange(1, 3650)


@dataclass
class FileReport:
    """What one file of an import gave; stored with the import and printed at the end."""

    path: str
    format: str | None = None
    stream: str | None = None
    read: int = 0
    stored: int = 0
    already_stored: int = 0
    deleted: int = 0
    tombstoned: int = 0  # posts not stored because their author had deleted them
    rejected: int = 0  # posts the store refused (each logged); the rest of their batch is stored
    malformed: int = 0
    skipped: int = 0
    error: str | None = None

    def summary(self) -> str:
        line = (
            f"{self.path}: {self.stored} stored, {self.already_stored} already stored,"
            f" {self.deleted} deleted, {self.tombstoned} deleted by their authors earlier,"
            f" {self.malformed} malformed, {self.skipped} skipped"
        )
        if self.rejected:
            line += f", {self.rejected} rejected by the store (see the log)"
        return f"{line}; FAILED: {self.error}" if self.error else line


def _describe(path: Path, error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).removeprefix(f"{path}: ")


def _ask_missing(
    purpose: str | None, basis: str | None, retention_days: int | None
) -> tuple[str, str, int]:
    given = {"--purpose": purpose, "--basis": basis, "--retention-days": retention_days}
    missing = [name for name, value in given.items() if value is None]
    if missing and not sys.stdin.isatty():
        raise click.ClickException(
            "an import needs a purpose, a legal basis and a retention period; missing: "
            + ", ".join(missing)
            + ' (e.g. --purpose "evaluation of new year\'s eve" --basis public-task'
            " --retention-days 90)"
        )
    if purpose is None:
        purpose = click.prompt("Purpose of this import (doelbinding)")
    if basis is None:
        basis = click.prompt("Legal basis", type=BASIS)
    if retention_days is None:
        retention_days = click.prompt(
            "Keep the imported posts for how many days (from today)", type=RETENTION
        )
    if not purpose.strip():
        raise click.ClickException("the purpose of an import cannot be empty")
    return purpose.strip(), basis, retention_days


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    help="File format (detected from the content when omitted).",
)
@click.option("--purpose", help="Why these posts are imported (doelbinding).")
@click.option("--basis", type=BASIS, help="Legal basis of the processing.")
@click.option(
    "--retention-days",
    type=RETENTION,
    help="Keep the imported posts this many days from now (longer where a monitor covers them).",
)
@click.option("--owner", default="analyst", show_default=True, help="Who is responsible.")
@click.option("--restart", is_flag=True, help="Read files from the start, not from the last stop.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@common_options
def ingest_command(
    files: tuple[Path, ...],
    fmt: str | None,
    purpose: str | None,
    basis: str | None,
    retention_days: int | None,
    owner: str,
    restart: bool,
    quiet: bool,
    verbose: int,
    settings: Settings,
) -> None:
    """Import FILES (JSONL/CSV, gzip allowed): Jetstream events, Mastodon statuses, X/Twitter
    API v2 tweets, 4CAT NDJSON exports or a generic CSV (text,created_at[,id,author,url,lang,
    lat,lon]). An interrupted import resumes where it stopped; posts already stored are skipped.
    The posts are kept RETENTION_DAYS from the import, longer where a monitor covers them.
    """
    # The door and the pipeline load models: imported here so that `stadspuls --help` is fast.
    from stadspuls.consumers import describe
    from stadspuls.pipeline import assemble
    from stadspuls.store.imports import record_files, start_import
    from stadspuls.store.posts import load_cursors

    configure_logging(verbose)
    purpose, basis, retention_days = _ask_missing(purpose, basis, retention_days)
    engine = engine_for(settings)
    cursors = {} if restart else load_cursors(engine)
    record = start_import(
        engine, owner=owner, purpose=purpose, legal_basis=basis, retention_days=retention_days
    )
    # The consumers (monitor linker, detectors) run beside the batches from their own cursors;
    # the import ends when they have consumed every stored post.
    assembly = assemble(settings, engine, pseudonymise=pseudonym_function(settings))
    assembly.start()
    pipeline = assembly.pipeline
    reports: list[FileReport] = []
    try:
        for path in files:
            report = _ingest_file(
                pipeline, path, fmt, cursors, settings.batch_size, quiet, record.id
            )
            reports.append(report)
            record_files(engine, record.id, [asdict(r) for r in reports])
        caught_up = assembly.consumers.drain()
        consumers = assembly.consumers.statuses()
    finally:
        assembly.close()
    record_files(engine, record.id, [asdict(r) for r in reports], finished=True)
    for report in reports:
        click.echo(report.summary())
    stats = pipeline.stats
    click.echo(
        f"stored {stats.inserted} new posts; {stats.already_stored} were already stored;"
        f" {stats.deleted} deleted"
    )
    click.echo(
        f"import {record.id} ({purpose}; {LEGAL_BASES[basis]}): its posts are kept until"
        f" {record.keep_until:%Y-%m-%d} ({retention_days} days), longer where a monitor"
        " covers them"
    )
    engine.dispose()
    failed = [r for r in reports if r.error]
    if failed:
        click.echo(f"{len(failed)} of {len(reports)} file(s) failed", err=True)
    if not caught_up:
        # The posts are stored; the consumer resumes from its cursor on the next run or import.
        click.echo("consumers did not catch up (they resume from their cursors):", err=True)
        for status in consumers:
            click.echo(f"  {describe(status)}", err=True)
    if failed or not caught_up:
        raise SystemExit(1)


def _ingest_file(
    pipeline: Pipeline,
    path: Path,
    fmt: str | None,
    cursors: dict[str, str],
    batch_size: int,
    quiet: bool,
    import_id: int,
) -> FileReport:
    from tqdm import tqdm

    report = FileReport(str(path))
    try:
        report.format = fmt or detect_format(path)
        name = report.stream = stream_name(path)
    except (FileFormatError, OSError) as error:
        report.error = _describe(path, error)
        click.echo(f"{path}: {report.error}", err=True)
        return report
    kind = report.format
    done = int(cursors.get(name, "0"))
    stats = SourceStats()
    before = _counts(pipeline.stats)
    read = done

    def batches() -> Iterator[tuple[list[SourceItem], Batch | None]]:
        nonlocal read
        pending: list[SourceItem] = []

        def batch() -> tuple[list[SourceItem], Batch]:
            return [*pending, Checkpoint(name, str(read))], Batch(import_id=import_id)

        with tqdm(desc=path.name, unit=" posts", disable=quiet, initial=done) as bar:
            index = 0
            try:
                for index, item in enumerate(iter_file(path, kind, stats), start=1):
                    if index <= done:
                        continue
                    pending.append(item)
                    read = index
                    bar.update()
                    if len(pending) >= batch_size:
                        yield batch()
                        pending = []
            except (FileFormatError, OSError) as error:
                # What was read before the error is stored (with its checkpoint) below.
                report.error = f"{_describe(path, error)} (after item {read})"
                click.echo(f"{path}: {report.error}", err=True)
            if pending:
                yield batch()
            if index <= done and done and not report.error:
                click.echo(
                    f"{path}: already imported up to item {done} (use --restart to read again)"
                )

    pipeline.process_all(batches())
    after = _counts(pipeline.stats)
    report.read = read
    report.stored, report.already_stored, report.deleted, report.tombstoned, report.rejected = (
        a - b for a, b in zip(after, before, strict=True)
    )
    report.malformed = stats.malformed
    report.skipped = stats.skipped
    # The reasons the mappings give for what they leave out (SkippedPayload): "visibility …".
    hidden = {k: n for k, n in stats.skipped_by_kind.items() if k.startswith("visibility ")}
    if hidden:
        reasons = ", ".join(f"{n} {kind}" for kind, n in sorted(hidden.items()))
        click.echo(f"{path}: not imported, as not public: {reasons}", err=True)
    if stats.malformed:
        click.echo(
            f"{path}: skipped {stats.malformed} malformed record(s); last: {stats.last_error}",
            err=True,
        )
    return report


def _counts(stats: PipelineStats) -> tuple[int, int, int, int, int]:
    return stats.inserted, stats.already_stored, stats.deleted, stats.tombstoned, stats.rejected


__all__ = ["FileReport", "ingest_command"]
