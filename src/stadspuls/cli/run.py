"""`stadspuls run`: serve the API and collect from the configured sources (or a replay)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
import uvicorn

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
from stadspuls.settings import Settings
from stadspuls.sources.base import Source
from stadspuls.store.retention import apply_retention
from stadspuls.web.app import create_app
from stadspuls.web.server import uvicorn_config

log = logging.getLogger(__name__)


@dataclass
class Collector:
    """What /health reports: the sources being collected from."""

    sources: list[Source] = field(default_factory=list)


async def _retention_loop(engine: sa.Engine, settings: Settings) -> None:
    while True:
        try:
            await asyncio.to_thread(apply_retention, engine, default_days=settings.retention_days)
        except Exception:
            log.exception("the retention job failed; trying again next round")
        await asyncio.sleep(settings.retention_interval_s)


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
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@common_options
def run_command(
    host: str | None,
    port: int | None,
    no_collect: bool,
    replay: tuple[Path, ...],
    speed: float,
    fmt: str | None,
    verbose: int,
    settings: Settings,
) -> None:
    """Serve http://HOST:PORT and collect posts continuously."""
    configure_logging(verbose)
    if host:
        settings.host = host
    if port:
        settings.port = port
    if speed < 0:
        raise click.BadParameter("speed must be 0 (as fast as possible) or positive")
    asyncio.run(_serve(settings, no_collect=no_collect, replay=replay, speed=speed, fmt=fmt))


async def _serve(
    settings: Settings,
    *,
    no_collect: bool,
    replay: Sequence[Path],
    speed: float,
    fmt: str | None,
) -> None:
    engine = engine_for(settings)
    collector = Collector()
    if replay:
        collector.sources = replay_sources(replay, speed, fmt)
        what = f"replaying {', '.join(str(p) for p in replay)} at speed {speed:g}"
    elif no_collect:
        what = "not collecting (--no-collect)"
    elif not await is_online(probe_hosts(settings)):
        what = (
            "no internet connection: not collecting; serving what is stored"
            " (replay a recording with: stadspuls run --replay FILE --speed 60)"
        )
    else:
        collector.sources = live_sources(settings)
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
    retention = asyncio.create_task(_retention_loop(engine, settings))
    linker = MonitorLinker(engine, pseudonymise=pseudonym_function(settings))
    await asyncio.to_thread(linker.catch_up)
    if not collector.sources:
        try:
            await server.serve()
        finally:
            retention.cancel()
        return
    door = await asyncio.to_thread(start_door, settings)
    pipeline = Pipeline(
        engine,
        door,
        sinks=[linker],
        batch_size=settings.batch_size,
        batch_seconds=settings.batch_seconds,
    )
    stop = asyncio.Event()
    collecting = asyncio.create_task(pipeline.run(collector.sources, stop))
    try:
        await server.serve()
    finally:
        stop.set()
        retention.cancel()
        await collecting
        pipeline.close()
        if isinstance(door, DoorProcess):
            door.close()
        click.echo(
            f"stored {pipeline.stats.inserted} new posts "
            f"({pipeline.stats.already_stored} already stored, {pipeline.stats.deleted} deleted)",
            err=True,
        )
