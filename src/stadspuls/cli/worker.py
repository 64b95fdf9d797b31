"""`stadspuls worker …`: the stages as separate processes on a broker (docs/cluster.md).

collector → door (N of them) → writer, coupled by Redis Streams (`cluster.broker_url`), storing
into PostgreSQL (`--db` / `STADSPULS_DB_URL`). Each process writes a heartbeat to the broker and
serves GET /health on `--health-port` when given; `stadspuls worker health KIND` checks one.
Subcommands are imported when they run, as the top-level ones are.
"""

from __future__ import annotations

import socket
from pathlib import Path

import click

from stadspuls.cli.common import common_options, configure_logging
from stadspuls.cli.main import Entry, LazyGroup
from stadspuls.settings import Settings

# The consumers and the web as their own processes are registered here too (docs/cluster.md).
WORKER_COMMANDS: dict[str, Entry] = {
    "consumers": Entry(
        "stadspuls.cluster.consumers_process:consumers_command",
        "Consumers of stored posts and background jobs, each under a lock (standby replicas).",
    ),
    "web": Entry("stadspuls.cluster.web_process:web_command", "The web app alone (replicas)."),
}

KINDS = ("collector", "door", "writer", "consumers", "web")


def _default_name(kind: str) -> str:
    return f"{kind}-{socket.gethostname()}"


def _health_port(settings: Settings, port: int | None) -> Settings:
    if port is None:
        return settings
    cluster = settings.cluster.model_copy(update={"health_port": port})
    return settings.model_copy(update={"cluster": cluster})


health_port_option = click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve GET /health (JSON; 200 healthy, 503 not) on this port (cluster.health_host).",
)
verbose_option = click.option("-v", "--verbose", count=True, help="-v: info, -vv: debug.")


@click.group(cls=LazyGroup, lazy=WORKER_COMMANDS)
def worker_group() -> None:
    """The stages as separate processes: collector, door workers, writer (docs/cluster.md)."""


@worker_group.command("collector")
@click.option(
    "--jetstream-file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Replay this Jetstream recording (JSON lines) as fast as it can instead of the"
    " configured sources, resuming after what is stored.",
)
@click.option("--name", help="This collector's name (default collector-HOSTNAME).")
@health_port_option
@verbose_option
@common_options
def collector_command(
    settings: Settings,
    jetstream_file: Path | None,
    name: str | None,
    health_port: int | None,
    verbose: int,
) -> None:
    """Run the configured sources (as `stadspuls run` does) and publish what they yield."""
    from stadspuls.cluster.collector import run_collector

    configure_logging(max(verbose, 1))
    run_collector(
        _health_port(settings, health_port),
        name=name or _default_name("collector"),
        jetstream_file=jetstream_file,
    )


@worker_group.command("door")
@click.option(
    "--name", help="This worker's name, unique among the door workers (default door-HOSTNAME-PID)."
)
@health_port_option
@verbose_option
@common_options
def door_command(
    settings: Settings, name: str | None, health_port: int | None, verbose: int
) -> None:
    """One door worker: enrich what the collectors publish (run N of them)."""
    import os

    from stadspuls.cluster.door import run_door

    configure_logging(max(verbose, 1))
    run_door(
        _health_port(settings, health_port),
        name=name or f"{_default_name('door')}-{os.getpid()}",
    )


@worker_group.command("writer")
@click.option("--name", help="This writer's name (default writer-HOSTNAME).")
@health_port_option
@verbose_option
@common_options
def writer_command(
    settings: Settings, name: str | None, health_port: int | None, verbose: int
) -> None:
    """The writer: store enriched posts in PostgreSQL, then acknowledge them (one active;
    another instance waits as a standby)."""
    from stadspuls.cluster.writer import run_writer

    configure_logging(max(verbose, 1))
    run_writer(_health_port(settings, health_port), name=name or _default_name("writer"))


@worker_group.command("health")
@click.argument("kind", type=click.Choice(KINDS))
@click.option(
    "--name",
    help="That process's name, or a pattern such as 'door-HOST-*' (default: any of KIND).",
)
@common_options
def health_command(settings: Settings, kind: str, name: str | None) -> None:
    """Exit 0 when a KIND process's heartbeat is fresh (compose/systemd health checks);
    print its status."""
    from stadspuls.cluster.health import check_health

    ok, lines = check_health(settings, kind, name)
    for line in lines:
        click.echo(line)
    raise SystemExit(0 if ok else 1)
