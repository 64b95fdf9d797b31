"""Publishing: compose, preview, submit, approve (four eyes, or its author in crisis mode),
schedule, cancel; the history of each publication; templates; crisis mode. CONTRACT STUB: the
owning helper replaces every NotImplementedError; signatures may gain keyword arguments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import sqlalchemy as sa

from stadspuls.publish.records import (
    CrisisMode,
    Delivery,
    Preview,
    Publication,
    PublicationEvent,
    PublishTemplate,
    ResponseCount,
)
from stadspuls.publish.targets import PublishTarget
from stadspuls.records import Actor
from stadspuls.settings import Settings


class PublishError(ValueError):
    """Input that cannot be published: empty, too long for a target, unknown target, a schedule
    in the past, alt text missing. `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PublishStateError(RuntimeError):
    """The publication's state does not allow it (approving one's own without crisis mode,
    editing a published one)."""


class PublishService:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        targets: Mapping[str, PublishTarget],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        raise NotImplementedError

    def available_targets(self) -> list[str]:
        raise NotImplementedError

    def create(self, actor: Actor, draft: Publication) -> Publication:
        raise NotImplementedError

    def update(self, actor: Actor, publication_id: int, draft: Publication) -> Publication:
        raise NotImplementedError

    def preview(self, publication: Publication) -> list[Preview]:
        raise NotImplementedError

    def submit(self, actor: Actor, publication_id: int) -> Publication:
        raise NotImplementedError

    def approve(self, actor: Actor, publication_id: int) -> Publication:
        raise NotImplementedError

    def reject(self, actor: Actor, publication_id: int, reason: str) -> Publication:
        raise NotImplementedError

    def cancel(self, actor: Actor, publication_id: int) -> Publication:
        raise NotImplementedError

    def get(self, actor: Actor, publication_id: int) -> Publication:
        raise NotImplementedError

    def recent(
        self, actor: Actor, *, state: str | None = None, limit: int = 100
    ) -> list[Publication]:
        raise NotImplementedError

    def deliveries(self, actor: Actor, publication_id: int) -> list[Delivery]:
        raise NotImplementedError

    def events(self, actor: Actor, publication_id: int) -> list[PublicationEvent]:
        raise NotImplementedError

    def release_due(self, now: datetime | None = None) -> int:
        """Approved publications whose time has come become published: one pending delivery
        per target. Returns how many."""
        raise NotImplementedError

    def published(self, *, limit: int = 30, before_id: int | None = None) -> list[Publication]:
        """For the public news page and feeds: published publications with target "news",
        newest first (no actor: public)."""
        raise NotImplementedError

    def crisis(self) -> CrisisMode | None:
        raise NotImplementedError

    def declare_crisis(self, actor: Actor, reason: str, hours: float) -> CrisisMode:
        raise NotImplementedError

    def end_crisis(self, actor: Actor) -> None:
        raise NotImplementedError

    def templates(self) -> list[PublishTemplate]:
        raise NotImplementedError

    def save_template(self, actor: Actor, template: PublishTemplate) -> PublishTemplate:
        raise NotImplementedError

    def delete_template(self, actor: Actor, name: str) -> None:
        raise NotImplementedError

    def responses(self, actor: Actor, publication_id: int) -> list[ResponseCount]:
        """Hour by hour after publishing (`publish.response_hours`): replies, reposts, quotes,
        links and their sentiment, beside the monitor's volume."""
        raise NotImplementedError
