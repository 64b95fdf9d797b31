"""`stadspuls worker consumers`: the consumers of stored posts and the background jobs, in a
process of their own, any number of replicas.

What it runs is what `stadspuls run` runs in its one process, built by the same code: the
consumers of `pipeline.build_consumers` (monitor linker, rollup, detectors, responses to our
publications, seen media when switched on), each in its own thread from its own cursor, and the
jobs of `cluster.jobs` (alert delivery, inbox, publishing, volunteers' notifier, retention).

Each consumer and each job runs only while this process holds its lease (`cluster.leases`: an
advisory lock keyed by its name on PostgreSQL). A second replica finds the locks taken and
stands by, trying them every `check_s`; when the first dies its sessions end, the locks are free
and the standby runs everything within about `check_s` (measured in
tests/cluster/test_consumers_process.py). Leases are per consumer, so two replicas may also share
the work: one may hold the linker and the other the detectors.

Across processes the consumers cannot be woken by the writer's commit, as they are inside
`stadspuls run`: they look for new posts every `consumer_poll_s` (one indexed range read per
consumer and look), so a post reaches them within that time after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import click
import sqlalchemy as sa

from stadspuls.cli.common import common_options, configure_logging
from stadspuls.cluster.health import Heartbeat
from stadspuls.cluster.jobs import JOBS, Job
from stadspuls.cluster.leases import Lease, Leases
from stadspuls.consumers import Consumers
from stadspuls.settings import Settings
from stadspuls.store import consumers as consumer_store

log = logging.getLogger(__name__)

# How long a job is given to finish its round after its lease is lost or the process stops.
JOB_STOP_S = 30.0
# A consumer failing this many times in a row makes the replica unhealthy (its heartbeat says
# which and why); it keeps retrying from its cursor meanwhile.
FAILING_AFTER = 3
# A job that stopped with an error gives up its lease and tries again after this long (the
# standby may take it meanwhile).
JOB_RETRY_S = 30.0


@dataclass
class _Running:
    stop: asyncio.Event
    task: asyncio.Task[None]


@dataclass
class Guarded:
    """One consumer or job, its lease and since when this process runs it."""

    name: str
    kind: str  # "consumer" or "job"
    lease: Lease
    job: Job | None = None
    since: float | None = None  # wall clock, when this process took the lease
    running: _Running | None = None
    retry_at: float = 0.0  # monotonic: a failed job is not taken again before this


@dataclass
class ConsumersProcess:
    """The consumers and jobs of one replica, each started when its lease is taken and stopped
    when it is lost."""

    settings: Settings
    engine: sa.Engine
    only: Sequence[str] | None = None
    check_s: float = 1.0
    pseudonymise: Callable[[str], str] | None = None
    heartbeat: Heartbeat | None = None
    consumers: Consumers = field(init=False)
    guarded: dict[str, Guarded] = field(init=False)
    last_round: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        from stadspuls.pipeline import build_consumers

        jobs = {job.name: job for job in JOBS}
        wanted = set(self.only) if self.only else None
        consumer_names = None if wanted is None else wanted - set(jobs)
        self._held: frozenset[str] = frozenset()
        self.consumers = build_consumers(
            self.settings,
            self.engine,
            pseudonymise=self.pseudonymise,
            only=consumer_names,
            gate=self.holds,
        )
        leases = Leases(self.engine)
        self._leases = leases
        self.guarded = {}
        for driver in self.consumers.drivers:
            lease = leases.lease(f"consumer:{driver.name}")
            self.guarded[driver.name] = Guarded(driver.name, "consumer", lease)
        for job in JOBS:
            if wanted is None or job.name in wanted:
                self.guarded[job.name] = Guarded(job.name, "job", leases.lease(f"job:{job.name}"))
                self.guarded[job.name].job = job
        if not self.guarded:
            raise ValueError("nothing to run: --only named no consumer or job")
        # Leases are tried side by side: one unreachable server costs one connect timeout.
        self._pool = ThreadPoolExecutor(max_workers=len(self.guarded), thread_name_prefix="lease")

    def holds(self, name: str) -> bool:
        """Whether this process runs consumer `name` now (the consumers' gate; any thread)."""
        return name in self._held

    async def run(self, stop: asyncio.Event) -> None:
        """Take leases and run what they cover until `stop` is set; then stop and release."""
        await asyncio.to_thread(self.consumers.start)
        try:
            while not stop.is_set():
                await self.round()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.check_s)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop what runs here and release every lease (the standby takes them at once)."""
        self._held = frozenset()
        await asyncio.gather(
            *(self._stop_job(g) for g in self.guarded.values() if g.running is not None)
        )
        await asyncio.to_thread(self.consumers.stop)
        for guarded in self.guarded.values():
            guarded.since = None
            guarded.lease.release()
        self._pool.shutdown(wait=False)
        self._leases.dispose()

    async def round(self) -> None:
        """Check the leases held, try the others; start and stop what changed."""
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        todo = [g for g in self.guarded.values() if g.since is not None or now >= g.retry_at]
        results = await asyncio.gather(
            *(
                loop.run_in_executor(
                    self._pool, g.lease.check if g.since is not None else g.lease.acquire
                )
                for g in todo
            ),
            return_exceptions=True,
        )
        unreachable = None
        for guarded, result in zip(todo, results, strict=True):
            holds = result is True
            if isinstance(result, BaseException):
                log.error("lease %s failed", guarded.name, exc_info=result)
                unreachable = f"lease {guarded.name}: {type(result).__name__}: {result}"
            elif guarded.lease.error is not None:
                # A standby that cannot reach the database could not take over: unhealthy.
                unreachable = f"lease {guarded.name}: {guarded.lease.error}"
            if holds and guarded.since is None:
                await self._started(guarded)
            elif not holds and guarded.since is not None:
                log.warning("%s %s: lease lost; stopping it", guarded.kind, guarded.name)
                await self._stopped(guarded)
        for guarded in self.guarded.values():
            running = guarded.running
            if running is not None and running.task.done():
                # A job that ended by itself failed: let the standby (or us, later) try.
                error = None if running.task.cancelled() else running.task.exception()
                log.error("job %s stopped; releasing it", guarded.name, exc_info=error)
                await self._stopped(guarded)
                await loop.run_in_executor(self._pool, guarded.lease.release)
                guarded.retry_at = time.monotonic() + JOB_RETRY_S
        self.last_round = time.time()
        if self.heartbeat is not None:
            await asyncio.to_thread(self._report, unreachable)

    def _report(self, unreachable: str | None) -> None:
        """The heartbeat: active or standby, how far behind the furthest consumer run here is,
        and the current error (a consumer failing again and again, an unreachable database)."""
        assert self.heartbeat is not None
        running = [d for d in self.consumers.drivers if self.holds(d.name)]
        error = unreachable
        for driver in running:
            if driver.consecutive_failures >= FAILING_AFTER:
                error = error or f"consumer {driver.name}: {driver.last_error}"
        lag = None
        if running:
            try:
                with self.engine.connect() as conn:
                    newest = consumer_store.max_pk(conn)
                lag = max(newest - d.last_pk for d in running)
            except sa.exc.SQLAlchemyError as failed:
                error = error or f"database: {type(failed).__name__}"
        held = sum(g.since is not None for g in self.guarded.values())
        self.heartbeat.lag = lag
        self.heartbeat.counts = {"running": held, "standby": len(self.guarded) - held}
        self.heartbeat.failing(error)
        self.heartbeat.beat("active" if held else "standby")

    async def _started(self, guarded: Guarded) -> None:
        log.warning("%s %s: lease taken; running it here", guarded.kind, guarded.name)
        guarded.since = time.time()
        if guarded.job is not None:
            stop = asyncio.Event()
            task = asyncio.create_task(guarded.job.run(self.engine, self.settings, stop))
            guarded.running = _Running(stop, task)
        else:
            self._held = self._held | {guarded.name}
            self.consumers.wake()

    async def _stopped(self, guarded: Guarded) -> None:
        guarded.since = None
        self._held = self._held - {guarded.name}
        await self._stop_job(guarded)

    @staticmethod
    async def _stop_job(guarded: Guarded) -> None:
        running, guarded.running = guarded.running, None
        if running is None:
            return
        running.stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(running.task), JOB_STOP_S)
        except TimeoutError:
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)
        except Exception:
            log.exception("job %s failed while stopping", guarded.name)

    def status(self) -> dict[str, Any]:
        """What this replica runs and what it stands by for (for the heartbeat and /health)."""
        running = sorted(name for name, g in self.guarded.items() if g.since is not None)
        return {
            "running": running,
            "standby": sorted(set(self.guarded) - set(running)),
            "last_round": self.last_round,
            "consumers": {
                d.name: {"last_pk": d.last_pk, "failures": d.consecutive_failures}
                for d in self.consumers.drivers
                if d.name in running
            },
        }


async def serve_consumers(
    settings: Settings,
    *,
    name: str,
    only: Sequence[str] | None = None,
    check_s: float = 1.0,
    health_port: int | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """The process: open the store, write the heartbeat (and serve /health on `health_port`),
    run until SIGTERM/SIGINT (or `stop`)."""
    import redis

    from stadspuls.cli.common import engine_for, pseudonym_function

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    engine = engine_for(settings)
    heartbeat = Heartbeat(settings.cluster, "consumers", name)
    try:
        process = ConsumersProcess(
            settings,
            engine,
            only=only,
            check_s=check_s,
            pseudonymise=pseudonym_function(settings),
            heartbeat=heartbeat,
        )
    except ValueError as error:
        engine.dispose()
        raise click.ClickException(str(error)) from error
    cluster = settings.cluster
    client = redis.Redis.from_url(cluster.broker_url, socket_timeout=5, socket_connect_timeout=5)
    heartbeat.start(client, health_port if health_port is not None else cluster.health_port)
    click.echo(
        f"stadspuls consumers: {len(process.guarded)} consumers and jobs under leases"
        f" (database {engine.url.render_as_string()}); standing by for those another"
        " replica runs",
        err=True,
    )
    try:
        await process.run(stop)
    finally:
        heartbeat.stop(client)
        client.close()
        engine.dispose()


@click.command("consumers")
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="NAME",
    help="Run only this consumer or job (repeatable; e.g. linker, detector:burst,"
    " alert-delivery); default: all of them.",
)
@click.option(
    "--check-every",
    "check_s",
    # At most 10 s: each look also refreshes the heartbeat, which expires after 15 s.
    type=click.FloatRange(min=0.1, max=10),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the leases: how soon a standby takes over.",
)
@click.option("--name", help="This replica's name (default consumers-HOSTNAME).")
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve GET /health (JSON; 200 healthy, 503 not) on this port.",
)
@click.option("-v", "--verbose", count=True, help="-v: info, -vv: debug.")
@common_options
def consumers_command(
    settings: Settings,
    only: tuple[str, ...],
    check_s: float,
    name: str | None,
    health_port: int | None,
    verbose: int,
) -> None:
    """The consumers of stored posts (linker, rollup, detectors, …) and the background jobs
    (alert delivery, inbox, publishing, volunteers, retention), each under a database lock:
    run two replicas, the second stands by."""
    configure_logging(max(verbose, 1))
    name = name or f"consumers-{socket.gethostname()}"
    asyncio.run(
        serve_consumers(
            settings, name=name, only=only or None, check_s=check_s, health_port=health_port
        )
    )
