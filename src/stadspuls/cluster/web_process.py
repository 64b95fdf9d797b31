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
import logging
import signal
import socket
from types import FrameType

import click
import sqlalchemy as sa
import uvicorn

from stadspuls.cli.common import common_options, configure_logging, engine_for
from stadspuls.cluster.health import Heartbeat
from stadspuls.settings import Settings

log = logging.getLogger(__name__)


async def _beat(heartbeat: Heartbeat, engine: sa.Engine, server: uvicorn.Server) -> None:
    """The heartbeat: serving, once uvicorn listens, while the database answers."""
    while not server.should_exit:
        if server.started:
            try:
                await asyncio.to_thread(_ping, engine)
                heartbeat.failing(None)
            except sa.exc.SQLAlchemyError as error:
                heartbeat.failing(f"database: {type(error).__name__}: {error}")
            heartbeat.beat("serving")
        await asyncio.sleep(min(heartbeat.settings.heartbeat_s, 1.0))


def _stopped(signum: int, _: FrameType | None) -> None:
    log.info("%s: stopped", signal.Signals(signum).name)


def _ping(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


async def serve_web(
    settings: Settings,
    *,
    name: str,
    forwarded_allow_ips: str | None = None,
    health_port: int | None = None,
) -> None:
    """Serve the app on settings.host:settings.port until SIGTERM/SIGINT, with a heartbeat
    (and /health on `health_port`) as every worker has."""
    import redis

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
    cluster = settings.cluster
    heartbeat = Heartbeat(cluster, "web", name)
    client = redis.Redis.from_url(cluster.broker_url, socket_timeout=5, socket_connect_timeout=5)
    heartbeat.start(client, health_port if health_port is not None else cluster.health_port)
    tasks = [
        asyncio.create_task(end_streams_on_exit()),
        asyncio.create_task(_beat(heartbeat, engine, server)),
    ]
    # uvicorn stops on SIGTERM/SIGINT and then raises the signal again for the handler that was
    # there before it: with Python's default the process would die before removing its
    # heartbeat and closing its connections; this one lets it finish and exit 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stopped)
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        heartbeat.stop(client)
        client.close()
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
    # One replica per machine or container by default; several on one machine need --name
    # each (the systemd template passes web-%i).
    name = name or f"web-{socket.gethostname()}"
    asyncio.run(
        serve_web(
            settings, name=name, forwarded_allow_ips=forwarded_allow_ips, health_port=health_port
        )
    )
