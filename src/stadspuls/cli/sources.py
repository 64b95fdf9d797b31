"""`stadspuls sources list|check`: what is configured, and whether it can be reached."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import click
import httpx
import websockets

from stadspuls.cli.common import common_options, reader_for
from stadspuls.settings import Settings
from stadspuls.store.posts import load_counters, load_cursors


@dataclass(frozen=True)
class Endpoint:
    source: str
    name: str
    url: str
    kind: str  # "websocket", "mastodon", "feed"


def endpoints(settings: Settings) -> list[Endpoint]:
    out = []
    if settings.bluesky.enabled:
        langs = ",".join(settings.bluesky.langs) or "all"
        for host in settings.bluesky.hosts:
            out.append(Endpoint("bluesky", f"Jetstream (langs {langs})", host, "websocket"))
    for instance in settings.mastodon:
        timelines = ", ".join(instance.timelines)
        out.append(
            Endpoint(
                "mastodon", f"{instance.base_url} ({timelines})", instance.base_url, "mastodon"
            )
        )
    for feed in settings.feeds:
        out.append(Endpoint(feed.kind, feed.name or feed.url, feed.url, "feed"))
    return out


@click.group("sources")
def sources_group() -> None:
    """Configured sources."""


@sources_group.command("list")
@common_options
def list_command(settings: Settings) -> None:
    """List the configured sources with what has been stored from them."""
    engine = reader_for(settings)
    counters = load_counters(engine) if engine else {}
    cursors = load_cursors(engine) if engine else {}
    for endpoint in endpoints(settings):
        click.echo(f"{endpoint.source:<9} {endpoint.name}\n          {endpoint.url}")
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
