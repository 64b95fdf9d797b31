"""Publishing inside `stadspuls run`: scheduled publications released when due, the outbox
sending each delivery to its target with back-off (publish/outbox.py)."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa

from stadspuls.media.vault import Vault
from stadspuls.publish.outbox import PublishOutbox
from stadspuls.publish.registry import build_targets
from stadspuls.publish.service import PublishService
from stadspuls.publish.targets import MediaLoader, SendError
from stadspuls.settings import Settings

log = logging.getLogger(__name__)


def vault_loader(settings: Settings) -> MediaLoader:
    """Reads a publication's image from the media vault by its SHA-256."""
    vault = Vault(settings.inbox.media_dir)

    def load(sha256: str) -> bytes:
        try:
            return vault.path_of(sha256).read_bytes()
        except (FileNotFoundError, ValueError) as error:
            # Gone from the vault (or never there): no retry brings it back.
            raise SendError(f"image {sha256[:12]}… is not in the media vault",
                            permanent=True) from error  # fmt: skip

    return load


def build_outbox(settings: Settings, engine: sa.Engine) -> PublishOutbox:
    """The outbox with the configured targets (close them with `close_targets`)."""
    targets = build_targets(settings, engine)
    service = PublishService(engine, settings, targets=targets)
    return PublishOutbox(service, targets, vault_loader(settings))


async def close_targets(outbox: PublishOutbox) -> None:
    for target in outbox.targets.values():
        try:
            await target.aclose()
        except Exception:  # closing one must not keep the others open
            log.exception("closing publishing target %s", target.name)


async def run_publishing(engine: sa.Engine, settings: Settings, stop: asyncio.Event) -> None:
    outbox = build_outbox(settings, engine)
    try:
        await outbox.run(stop)
    finally:
        await close_targets(outbox)
