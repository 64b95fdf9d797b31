"""`stadspuls worker web`: the web app alone (dashboard, API, public pages), any number of
replicas behind a reverse proxy.

It is `web.create_app` with the same settings as every other process, served by uvicorn as
`stadspuls run` serves it, without collecting, consuming or delivering: those run in the
collector, door, writer and consumers processes. Nothing in the app assumes it is the only
process (docs/deploy.md, "The web behind a proxy"): sessions, API tokens, failed-login counts
and the public intake's abuse limits are rows in the database; the live alert stream polls the
database from the client's Last-Event-ID, so a client that reconnects to another replica resumes
where it was; the single sign-on's pending login travels sealed in a cookie. What is per
process is bounded on purpose: the photo decoders (`inbox.decode_workers` per replica).

Behind a proxy, the client's address (for the login and intake limits) comes from the proxy's
X-Forwarded-For, trusted only from the addresses in `--forwarded-allow-ips`.
"""

from __future__ import annotations

import asyncio
import contextlib

import click
import uvicorn

from stadspuls.cli.common import common_options, configure_logging, engine_for
from stadspuls.settings import Settings


async def serve_web(settings: Settings, *, forwarded_allow_ips: str | None = None) -> None:
    """Serve the app on settings.host:settings.port until SIGTERM/SIGINT."""
    from stadspuls.web.app import create_app
    from stadspuls.web.routes.alerts import stop_streams
    from stadspuls.web.server import uvicorn_config

    engine = engine_for(settings)
    app = create_app(settings, engine=engine)
    # None: uvicorn reads $FORWARDED_ALLOW_IPS, else trusts 127.0.0.1 only.
    config = uvicorn_config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    server = uvicorn.Server(config)

    async def end_streams_on_exit() -> None:
        # The live alert streams never end by themselves: end them when the server begins to
        # shut down (their clients reconnect to another replica), or uvicorn waits for them.
        while not server.should_exit:
            await asyncio.sleep(0.1)
        stop_streams(app)

    click.echo(
        f"stadspuls web serving http://{settings.host}:{settings.port}"
        f" (database {engine.url.render_as_string()}); not collecting, not consuming",
        err=True,
    )
    ending = asyncio.create_task(end_streams_on_exit())
    try:
        await server.serve()
    finally:
        ending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ending
        engine.dispose()


@click.command("web")
@click.option("--host", help="Address to serve on (default from settings: 127.0.0.1).")
@click.option("--port", type=int, help="Port to serve on (default from settings: 8000).")
@click.option(
    "--forwarded-allow-ips",
    metavar="ADDRESSES",
    help="Comma-separated addresses (or *) of the reverse proxies whose X-Forwarded-For and"
    " X-Forwarded-Proto are believed (default: $FORWARDED_ALLOW_IPS, else 127.0.0.1).",
)
@click.option("--name", help="This replica's name (default web-HOSTNAME).")
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve GET /health (JSON; 200 healthy, 503 not) on this port, besides the app's own"
    " /health.",
)
@click.option("-v", "--verbose", count=True, help="-v: info, -vv: debug.")
@common_options
def web_command(
    settings: Settings,
    host: str | None,
    port: int | None,
    forwarded_allow_ips: str | None,
    name: str | None,
    health_port: int | None,
    verbose: int,
) -> None:
    """The web app alone (dashboard, API, public pages): no collecting, no consumers. Run
    several behind a reverse proxy."""
    configure_logging(verbose)
    if host:
        settings.host = host
    if port:
        settings.port = port
    asyncio.run(serve_web(settings, forwarded_allow_ips=forwarded_allow_ips))
