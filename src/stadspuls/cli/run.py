"""`stadspuls run`: serve the API and collect from the configured sources (or a replay)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from stadspuls.access.accounts import first_run_hint
from stadspuls.alerts.delivery import check_channels
from stadspuls.alerts.webhook import ChannelError
from stadspuls.arenas import limit_malloc_arenas
from stadspuls.cli.common import (
    common_options,
    configure_logging,
    engine_for,
    pseudonym_function,
)
from stadspuls.cluster.jobs import run_all
from stadspuls.pipeline import Pipeline, assemble, build_consumers
from stadspuls.records import Post, SourceItem
from stadspuls.settings import Settings
from stadspuls.sources.base import Source, SourceStats
from stadspuls.sources.status import StatusRow, StreamStatus
from stadspuls.store.status import save_status
from stadspuls.web.app import create_app
from stadspuls.web.routes.alerts import stop_streams
from stadspuls.web.server import uvicorn_config

log = logging.getLogger(__name__)


class Tracked:
    """A source whose end is recorded: "stopped" when its stream is exhausted (a replay),
    "failed" when it raises. A source that reports no streams of its own gets one status row
    under its name."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = source.name
        self.stats: SourceStats = source.stats
        # Built-in sources name their streams when they are built; others get one row.
        self.own: StreamStatus | None = None
        if not self.stats.streams:
            self.own = self.stats.stream(str(getattr(source, "stream_name", source.name)))

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        try:
            async for item in self.source.stream(cursors):
                if self.own is not None:
                    self.own.succeeded()
                yield item
        except Exception as error:
            for status in self.stats.streams.values():
                status.failed(error)
            raise
        for status in self.stats.streams.values():
            status.stopped()


@dataclass
class Collector:
    """What /health reports: the sources being collected from, and the state of each stream."""

    sources: list[Source] = field(default_factory=list)

    def statuses(self) -> list[StatusRow]:
        rows = [status.row() for s in self.sources for status in s.stats.streams.values()]
        return sorted(rows, key=lambda row: row.source)

    def stop(self) -> None:
        for source in self.sources:
            for status in source.stats.streams.values():
                if status.state != "failed":
                    status.stopped()


class StatusWriter:
    """Copies the collector's stream statuses to the `source_status` table: a stream whose
    state changed within `interval_s`; other news (a newer success, one more error, the next
    retry) at most every `refresh_s` per stream; never per post."""

    def __init__(
        self,
        engine: sa.Engine,
        collector: Collector,
        *,
        interval_s: float = 1.0,
        refresh_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.collector = collector
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self._written: dict[str, tuple[StatusRow, float]] = {}

    def due(self, *, everything: bool = False) -> list[StatusRow]:
        """The rows to write now; `everything`: every row not written as it is (at the end)."""
        now = time.monotonic()
        due = []
        for row in self.collector.statuses():
            written = self._written.get(row.source)
            if written is None:
                due.append(row)
                continue
            before, at = written
            if row.state != before.state or (
                row != before and (everything or now - at >= self.refresh_s)
            ):
                due.append(row)
        return due

    def flush(self, *, everything: bool = False) -> int:
        rows = self.due(everything=everything)
        save_status(self.engine, rows)
        now = time.monotonic()
        for row in rows:
            self._written[row.source] = (row, now)
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.flush)
            except sa.exc.SQLAlchemyError:
                log.exception("could not store the source status; trying again")
            await asyncio.sleep(self.interval_s)


def probe_hosts(settings: Settings) -> list[tuple[str, int]]:
    urls = [*settings.bluesky.hosts[:1], *(m.base_url for m in settings.mastodon[:1])]
    urls += [f.url for f in settings.feeds[:1]]
    hosts = []
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname:
            hosts.append((parts.hostname, parts.port or 443))
    return hosts


async def is_online(hosts: Sequence[tuple[str, int]], timeout: float = 3.0) -> bool:
    """True when any of the hosts answers a TCP connection within `timeout` seconds."""

    async def reach(host: str, port: int) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True

    results = await asyncio.gather(*(reach(h, p) for h, p in hosts))
    return any(results)


def live_sources(settings: Settings) -> list[Source]:
    from stadspuls.sources.registry import build_sources

    return list(build_sources(settings))


def replay_sources(paths: Sequence[Path], speed: float, fmt: str | None) -> list[Source]:
    from stadspuls.sources.replay import ReplaySource

    return [ReplaySource(path, speed=speed, format=fmt) for path in paths]


def count_posts(paths: Sequence[Path], fmt: str | None) -> int:
    """The posts in the files (a read without the door or the store: seconds for millions)."""
    from stadspuls.sources.files import iter_file

    return sum(isinstance(item, Post) for path in paths for item in iter_file(path, fmt))


class ReplayProgress:
    """One line on stderr every `interval_s` while replaying (posts replayed of the total, the
    rate, how many were stored), and one when the replay has finished."""

    def __init__(
        self,
        sources: Sequence[Source],
        pipeline: Pipeline,
        paths: Sequence[Path],
        fmt: str | None,
        interval_s: float,
    ) -> None:
        self.sources = sources
        self.pipeline = pipeline
        self.paths = paths
        self.fmt = fmt
        self.interval_s = interval_s
        self.total: int | None = None
        self.started = time.monotonic()

    def replayed(self) -> int:
        return sum(source.stats.posts for source in self.sources)

    def line(self) -> str:
        replayed = self.replayed()
        rate = replayed / max(time.monotonic() - self.started, 1e-9)
        of = f"/{self.total} ({100 * replayed / self.total:.0f}%)" if self.total else ""
        return (
            f"replay: {replayed}{of} posts, {rate:.0f} posts/s;"
            f" {self.pipeline.stats.inserted} stored"
        )

    async def run(self, collecting: asyncio.Task[None]) -> None:
        counting = asyncio.create_task(asyncio.to_thread(count_posts, self.paths, self.fmt))
        counting.add_done_callback(self._counted)
        try:
            while not collecting.done():
                await asyncio.wait([collecting], timeout=self.interval_s or None)
                if not collecting.done() and self.interval_s:
                    click.echo(self.line(), err=True)
        finally:
            counting.cancel()
        if not collecting.cancelled() and collecting.exception() is None:
            click.echo(
                f"replay finished: {self.replayed()} posts, {self.pipeline.stats.inserted} stored"
                f" ({self.pipeline.stats.already_stored} already stored); still serving"
                " (Ctrl-C to stop)",
                err=True,
            )

    def _counted(self, task: asyncio.Task[int]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.total = task.result()


@click.command("run")
@click.option("--host", help="Address to serve on (default from settings: 127.0.0.1).")
@click.option("--port", type=int, help="Port to serve on (default from settings: 8000).")
@click.option("--no-collect", is_flag=True, help="Serve the API without collecting.")
@click.option(
    "--replay",
    "replay",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay a recorded file as if live instead of collecting (repeatable).",
)
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Replay speed: 60 plays an hour in a minute; 0 plays as fast as possible.",
)
@click.option("--format", "fmt", help="Format of the replayed file (detected when omitted).")
@click.option(
    "--progress-every",
    "progress_s",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds between replay progress lines on stderr (0: only the final line).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@common_options
def run_command(
    host: str | None,
    port: int | None,
    no_collect: bool,
    replay: tuple[Path, ...],
    speed: float,
    fmt: str | None,
    progress_s: float,
    verbose: int,
    settings: Settings,
) -> None:
    """Serve http://HOST:PORT and collect posts continuously."""
    # Before any thread starts: threads then share the arenas (stadspuls/arenas.py).
    limit_malloc_arenas(settings.malloc_arena_max)
    configure_logging(verbose)
    if host:
        settings.host = host
    if port:
        settings.port = port
    if speed < 0:
        raise click.BadParameter("speed must be 0 (as fast as possible) or positive")
    if progress_s < 0:
        raise click.BadParameter("--progress-every must be 0 or positive")
    asyncio.run(
        _serve(
            settings,
            no_collect=no_collect,
            replay=replay,
            speed=speed,
            fmt=fmt,
            progress_s=progress_s,
        )
    )


async def _end_streams_on_exit(server: uvicorn.Server, app: FastAPI) -> None:
    while not server.should_exit:
        await asyncio.sleep(0.1)
    stop_streams(app)


async def _serve(
    settings: Settings,
    *,
    no_collect: bool,
    replay: Sequence[Path],
    speed: float,
    fmt: str | None,
    progress_s: float = 10.0,
) -> None:
    try:
        check_channels(settings)
    except ChannelError as error:
        raise click.ClickException(str(error)) from error
    engine = engine_for(settings)
    if hint := first_run_hint(engine):
        click.echo(hint, err=True)
    collector = Collector()
    if replay:
        collector.sources = [Tracked(s) for s in replay_sources(replay, speed, fmt)]
        what = f"replaying {', '.join(str(p) for p in replay)} at speed {speed:g}"
    elif no_collect:
        what = "not collecting (--no-collect)"
    elif not await is_online(probe_hosts(settings)):
        what = (
            "no internet connection: not collecting; serving what is stored"
            " (replay a recording with: stadspuls run --replay FILE --speed 60)"
        )
    else:
        collector.sources = [Tracked(s) for s in live_sources(settings)]
        what = "collecting from " + ", ".join(s.name for s in collector.sources)
    app = create_app(settings, engine=engine, collector=collector)
    server = uvicorn.Server(
        uvicorn_config(app, host=settings.host, port=settings.port, log_level="warning")
    )
    click.echo(
        f"Stadspuls serving http://{settings.host}:{settings.port} "
        f"(database {engine.url.render_as_string()}); {what}",
        err=True,
    )
    # The background jobs (alert delivery, inbox, publishing, volunteers, retention), as
    # `stadspuls worker consumers` runs them; the live streams end when the server begins to
    # shut down, or uvicorn would wait for those clients to go.
    stop_jobs = asyncio.Event()
    jobs = asyncio.create_task(run_all(engine, settings, stop_jobs))
    ending = asyncio.create_task(_end_streams_on_exit(server, app))
    pseudonymise = pseudonym_function(settings)
    if not collector.sources:
        # Nothing collected here: the consumers still catch up, and follow another collector.
        consumers = build_consumers(settings, engine, pseudonymise=pseudonymise)
        await asyncio.to_thread(consumers.start)
        try:
            await server.serve()
        finally:
            ending.cancel()
            stop_jobs.set()
            await jobs
            await asyncio.to_thread(consumers.stop)
        return
    assembly = await asyncio.to_thread(assemble, settings, engine, pseudonymise=pseudonymise)
    # The consumers catch up from their cursors (a crash left them behind) and then follow.
    await asyncio.to_thread(assembly.start)
    pipeline = assembly.pipeline
    stop = asyncio.Event()
    status = StatusWriter(engine, collector)
    status_task = asyncio.create_task(status.run())
    collecting = asyncio.create_task(pipeline.run(collector.sources, stop))
    progress = None
    if replay:
        reporter = ReplayProgress(collector.sources, pipeline, replay, fmt, progress_s)
        progress = asyncio.create_task(reporter.run(collecting))
    try:
        await server.serve()
    finally:
        stop.set()
        await collecting
        if progress is not None:
            progress.cancel()
        status_task.cancel()
        collector.stop()
        await asyncio.to_thread(functools.partial(status.flush, everything=True))
        await asyncio.to_thread(assembly.close)
        ending.cancel()
        stop_jobs.set()
        await jobs
        click.echo(
            f"stored {pipeline.stats.inserted} new posts "
            f"({pipeline.stats.already_stored} already stored, {pipeline.stats.deleted} deleted)",
            err=True,
        )
