"""The inbox inside `stadspuls run`: the channels' pollers, the reply sender and the daily purge
of closed cases past their retention period, until told to stop.

Each part is its own task and survives its own failures (logged, tried again next round); none
waits for another. A message the case service refuses (ValueError: empty, malformed) is logged
and skipped, so that one bad e-mail cannot stall its mailbox's poller for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping, Sequence

import click
import sqlalchemy as sa

from stadspuls.cases.outbox import ReplySender
from stadspuls.cases.records import InboundMessage
from stadspuls.cases.service import CaseService
from stadspuls.channels.base import Channel, ChannelError
from stadspuls.channels.poller import ChannelPoller
from stadspuls.channels.registry import build_channels, poll_intervals
from stadspuls.enrich.pseudonymise import load_or_create_key
from stadspuls.media.intake import MediaIntake
from stadspuls.media.vault import Vault
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings

log = logging.getLogger(__name__)
PURGE_INTERVAL_S = 24 * 3600.0


def build_service(engine: sa.Engine, settings: Settings) -> CaseService:
    """The case service of a worker (the web app builds its own in `create_app`)."""
    sealer = Sealer(load_or_create_key(settings.contact_key_path, "contact"))
    vault = Vault(settings.inbox.media_dir)

    def remove_media(hashes: Sequence[str]) -> None:
        for sha256 in hashes:
            vault.remove(sha256)

    return CaseService(engine, settings, sealer=sealer, remove_media=remove_media)


async def purge_loop(
    service: CaseService, stop: asyncio.Event, interval_s: float = PURGE_INTERVAL_S
) -> None:
    """Purge now, then every `interval_s`; a deletion is never silent (a line on stderr, and
    an audit row "cases.purge")."""
    while not stop.is_set():
        try:
            purged = await asyncio.to_thread(service.purge)
            if purged:
                click.echo(f"inbox retention: deleted {purged} closed cases", err=True)
        except Exception:
            log.exception("the inbox retention purge failed; trying again next round")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


async def run_inbox(
    engine: sa.Engine,
    settings: Settings,
    stop: asyncio.Event,
    *,
    channels: Mapping[str, Channel] | None = None,
    purge_interval_s: float = PURGE_INTERVAL_S,
) -> None:
    """Until `stop` is set. `channels` None: the configured ones
    (`channels.registry.build_channels`); a channel that cannot be built is reported on stderr
    and left out (its replies stay queued), the rest of the inbox runs."""
    service = build_service(engine, settings)
    media: MediaIntake | None = None
    intervals = poll_intervals(settings)
    if channels is None:
        media = MediaIntake(settings.inbox)

        def report(name: str, error: ChannelError) -> None:
            click.echo(f"inbox: the {name} channel is not started: {error}", err=True)

        try:
            channels = build_channels(
                settings, media=media, conversations=service.find_conversation, report=report
            )
        except ValueError as error:
            click.echo(f"inbox: channels not started: {error}", err=True)
            channels = {}

    def receive(message: InboundMessage) -> object:
        try:
            return service.receive(message)
        except ValueError as error:
            log.warning("inbox: %s message %r refused: %s", message.channel,
                        message.external_id, error)  # fmt: skip
            return None

    poller = ChannelPoller(engine, channels, receive, intervals=intervals)
    # The models are shared by the process: the web app's case service finds them loaded. A
    # daemon thread, not the loop's executor: a server stopped early must not wait for it.
    threading.Thread(target=service.warm_up, name="inbox-warm-up", daemon=True).start()
    tasks = [
        asyncio.create_task(ReplySender(service, channels).run(stop)),
        asyncio.create_task(purge_loop(service, stop, purge_interval_s)),
        asyncio.create_task(poller.run(stop)),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels.values():
            try:
                await channel.close()
            except Exception:
                log.exception("closing the %s channel", channel.name)
        if media is not None:
            await media.close()
