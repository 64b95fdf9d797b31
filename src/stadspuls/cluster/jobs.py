"""The background jobs of a deployment, beside the consumers of stored posts: alert delivery,
the inbox, publishing, the volunteers' notifier and retention.

`stadspuls run` runs them all in its one process (`run_all`); `stadspuls worker consumers` runs
each under a lock of its own, so that one replica runs it and another stands by
(`stadspuls.cluster.consumers_process`). Both start them from this one list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import click
import sqlalchemy as sa

from stadspuls.settings import Settings

log = logging.getLogger(__name__)

# A job runs until `stop` is set and then returns (after closing what it opened).
Runner = Callable[[sa.Engine, Settings, asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Job:
    name: str  # stable: its lock in `stadspuls worker consumers` is keyed by it
    run: Runner


async def run_retention(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    """Apply the retention periods now and every `retention_interval_s` until `stop`."""
    from stadspuls.store.retention import apply_retention

    days = settings.retention_days
    while not stop.is_set():
        try:
            result = await asyncio.to_thread(apply_retention, engine, default_days=days)
            # Deleting is never silent: a line on the console, and `stadspuls retention log`.
            if result.total:
                click.echo(
                    f"retention: deleted {result.total} posts: {result.describe(days)}", err=True
                )
        except Exception:
            log.exception("the retention job failed; trying again next round")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.retention_interval_s)


async def _delivery(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    from stadspuls.alerts.delivery import run_delivery

    await run_delivery(engine, settings, stop)


async def _inbox(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    from stadspuls.cases.runner import run_inbox

    await run_inbox(engine, settings, stop)


async def _publishing(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    from stadspuls.publish.runner import run_publishing

    await run_publishing(engine, settings, stop)


async def _volunteers(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    from stadspuls.volunteers.runner import run_volunteers

    await run_volunteers(engine, settings, stop)


# Alerts leave through their outbox (webhooks, e-mail); the inbox: channel pollers, the reply
# sender, the purge of old closed cases; publishing's outbox and scheduler; the volunteers'
# notifier, expiry and purge; the retention of posts.
JOBS: tuple[Job, ...] = (
    Job("alert-delivery", _delivery),
    Job("inbox", _inbox),
    Job("publishing", _publishing),
    Job("volunteers", _volunteers),
    Job("retention", run_retention),
)


async def run_all(
    engine: sa.Engine, settings: Settings, stop: asyncio.Event, jobs: tuple[Job, ...] = JOBS
) -> None:
    """Every job in this process until `stop` is set (`stadspuls run`). A job that fails is
    logged; the others go on."""
    results = await asyncio.gather(
        *(job.run(engine, settings, stop) for job in jobs), return_exceptions=True
    )
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, BaseException):
            log.error("background job %s stopped with an error", job.name, exc_info=result)
