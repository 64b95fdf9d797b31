"""`stadspuls sources list|check`: what is configured, and whether it can be reached."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import click
import httpx
import websockets

from stadspuls.cli.common import common_options, reader_for
from stadspuls.settings import Settings
from stadspuls.sources.status import FAILING, StatusRow
from stadspuls.store.posts import load_counters, load_cursors
from stadspuls.store.status import load_status


@dataclass(frozen=True)
class Endpoint:
    source: str
    name: str
    url: str
    kind: str  # "websocket", "mastodon", "feed"
    streams: tuple[str, ...] = ()  # the names of its streams' status rows


def endpoints(settings: Settings) -> list[Endpoint]:
    # Stream names as the sources give them (see each source module); imported here only for
    # the names, so that `sources --help` stays light.
    from stadspuls.sources.feeds import stream_name as feed_stream
    from stadspuls.sources.jetstream import STREAM as JETSTREAM
    from stadspuls.sources.mastodon import stream_name as mastodon_stream

    out = []
    if settings.bluesky.enabled:
        langs = ",".join(settings.bluesky.langs) or "all"
        for index, host in enumerate(settings.bluesky.hosts):
            # One stream rotates through the hosts: its state is shown once.
            streams = (JETSTREAM,) if index == 0 else ()
            out.append(
                Endpoint("bluesky", f"Jetstream (langs {langs})", host, "websocket", streams)
            )
    for instance in settings.mastodon:
        timelines = ", ".join(instance.timelines)
        out.append(
            Endpoint(
                "mastodon",
                f"{instance.base_url} ({timelines})",
                instance.base_url,
                "mastodon",
                tuple(mastodon_stream(instance, t) for t in instance.timelines),
            )
        )
    for feed in settings.feeds:
        out.append(
            Endpoint(feed.kind, feed.name or feed.url, feed.url, "feed", (feed_stream(feed),))
        )
    return out


def _when(seconds: float | None, now: float) -> str:
    if seconds is None:
        return "never"
    moment = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = seconds - now
    span = abs(delta)
    ago = (
        f"{span:.0f} s"
        if span < 120
        else f"{span / 60:.0f} min"
        if span < 7200
        else f"{span / 3600:.0f} h"
    )
    return f"{moment} (in {ago})" if delta > 0 else f"{moment} ({ago} ago)"


def status_lines(row: StatusRow, now: float) -> list[str]:
    """The state of one stream, as `sources list` shows it."""
    lines = [f"state {row.state}, last success {_when(row.last_success, now)}"]
    if row.last_error is not None:
        lines.append(
            f"last error {_when(row.last_error_at, now)}: {row.last_error}"
            f" ({row.error_count} error(s) since it last worked)"
        )
    if row.next_retry is not None and row.state in FAILING:
        lines.append(f"next retry {_when(row.next_retry, now)}")
    return lines


@click.group("sources")
def sources_group() -> None:
    """Configured sources."""


@sources_group.command("list")
@common_options
def list_command(settings: Settings) -> None:
    """List the configured sources, the state of each stream (as the collector last stored
    it: state, last success, last error, error count, next retry) and what was stored."""
    engine = reader_for(settings)
    counters = load_counters(engine) if engine else {}
    cursors = load_cursors(engine) if engine else {}
    statuses = {row.source: row for row in load_status(engine)} if engine else {}
    now = time.time()
    listed: set[str] = set()
    for endpoint in endpoints(settings):
        click.echo(f"{endpoint.source:<9} {endpoint.name}\n          {endpoint.url}")
        for stream in endpoint.streams:
            listed.add(stream)
            row = statuses.get(stream)
            if len(endpoint.streams) > 1:
                click.echo(f"          {stream}:")
            if row is None:
                click.echo("          not collected from yet")
                continue
            for line in status_lines(row, now):
                click.echo(f"          {line}")
    others = [row for name, row in sorted(statuses.items()) if name not in listed]
    if others:
        click.echo("\nother streams (replays, plugins, sources no longer configured):")
        for row in others:
            click.echo(f"  {row.source}")
            for line in status_lines(row, now):
                click.echo(f"    {line}")
    failing = sum(row.state in FAILING for row in statuses.values())
    if failing:
        click.echo(f"\n{failing} of {len(statuses)} stream(s) failing")
    if counters:
        click.echo("\nstored per source:")
        for source, values in sorted(counters.items()):
            shown = ", ".join(f"{k} {v}" for k, v in sorted(values.items()))
            click.echo(f"  {source:<12} {shown}")
    if cursors:
        click.echo(f"\n{len(cursors)} resumable stream position(s) stored")


async def _check(endpoint: Endpoint, timeout: float) -> tuple[bool, str]:
    started = time.perf_counter()
    try:
        if endpoint.kind == "websocket":
            url = f"{endpoint.url}/subscribe?wantedCollections=app.bsky.feed.post"
            async with websockets.connect(url, open_timeout=timeout) as socket:
                await asyncio.wait_for(socket.recv(), timeout)
            detail = "received an event"
        else:
            url = endpoint.url
            if endpoint.kind == "mastodon":
                url = endpoint.url.rstrip("/") + "/api/v1/instance"
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
                response = await client.get(url, headers={"User-Agent": "stadspuls"})
            if response.status_code >= 400:
                return False, f"HTTP {response.status_code}"
            detail = f"HTTP {response.status_code}, {len(response.content)} bytes"
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"[:200]
    return True, f"{detail} in {time.perf_counter() - started:.1f} s"


@sources_group.command("check")
@click.option("--timeout", type=float, default=10.0, show_default=True)
@common_options
def check_command(timeout: float, settings: Settings) -> None:
    """Try to reach every configured source; exit 1 if none answers."""
    found = endpoints(settings)

    async def check_all() -> list[tuple[bool, str]]:
        return await asyncio.gather(*(_check(e, timeout) for e in found))

    results = asyncio.run(check_all())
    for endpoint, (ok, detail) in zip(found, results, strict=True):
        click.echo(f"{'ok  ' if ok else 'FAIL'} {endpoint.source:<9} {endpoint.url}: {detail}")
    if found and not any(ok for ok, _ in results):
        raise SystemExit(1)
