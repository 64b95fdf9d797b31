"""The parts of the publish service beside a publication's own life: templates (one tone of
voice), crisis mode (its author may approve), and the response a publication drew, hour by
hour, beside the monitor it was about. Part of `PublishService` (publish/service.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import msgspec
import sqlalchemy as sa

from stadspuls.access.roles import check
from stadspuls.publish import templates as placeholders
from stadspuls.publish.errors import PublishError, PublishStateError
from stadspuls.publish.records import CrisisMode, Publication, PublishTemplate, ResponseCount
from stadspuls.records import Actor
from stadspuls.service.errors import NotFound
from stadspuls.settings import Settings
from stadspuls.store import audit
from stadspuls.store import publication_deliveries as deliveries_store
from stadspuls.store import publications as store
from stadspuls.store.rows import from_us, to_us

HOUR_US = 3600 * 1_000_000
MAX_REASON = 2000


class PublishAdmin:
    engine: sa.Engine
    settings: Settings
    clock: Callable[[], datetime]

    # -- crisis mode -------------------------------------------------------------------------

    def crisis(self) -> CrisisMode | None:
        """The crisis mode in force now, if any."""
        with self.engine.connect() as conn:
            return store.active_crisis(conn, to_us(self.clock()))

    def declare_crisis(self, actor: Actor, reason: str, hours: float) -> CrisisMode:
        """Until it ends (or `hours` pass, at most `publish.crisis_max_hours`), authors may
        approve their own publications. A new declaration replaces the one in force."""
        check(actor, "approve")
        reason = reason.strip()
        if not reason:
            raise PublishError("say why: a crisis mode is logged with its reason", field="reason")
        if len(reason) > MAX_REASON:
            raise PublishError(f"a reason is at most {MAX_REASON} characters", field="reason")
        limit = self.settings.publish.crisis_max_hours
        if not 0 < hours <= limit:
            raise PublishError(f"a crisis mode lasts more than 0 and at most {limit:g} hours",
                               field="hours")  # fmt: skip
        now = self.clock()
        with self.engine.begin() as conn:
            store.end_crisis(conn, by=actor.username, at=now)
            declared = store.declare_crisis(
                conn, by=actor.username, at=now, until=now + timedelta(hours=hours), reason=reason
            )
            audit.record_action(
                conn, actor, "publish.crisis.declare", reason=reason,
                details={"crisis": declared.id, "hours": hours},
            )  # fmt: skip
        return declared

    def end_crisis(self, actor: Actor) -> None:
        check(actor, "approve")
        with self.engine.begin() as conn:
            if not store.end_crisis(conn, by=actor.username, at=self.clock()):
                raise PublishStateError("no crisis mode is in force")
            audit.record_action(conn, actor, "publish.crisis.end")

    def crisis_history(self, actor: Actor, *, limit: int = 20) -> list[CrisisMode]:
        check(actor, "publish")
        with self.engine.connect() as conn:
            return store.crisis_history(conn, limit=limit)

    # -- templates ---------------------------------------------------------------------------

    def templates(self) -> list[PublishTemplate]:
        with self.engine.connect() as conn:
            return store.list_templates(conn)

    def template(self, name: str) -> PublishTemplate:
        with self.engine.connect() as conn:
            found = store.get_template(conn, name)
        if found is None:
            raise NotFound(f"no template {name!r}")
        return found

    def save_template(self, actor: Actor, template: PublishTemplate) -> PublishTemplate:
        """Create or replace the template of this name; its placeholders must be known."""
        check(actor, "approve")
        name = placeholders.check_name(template.name)
        title, body = template.title.strip(), template.body.replace("\r\n", "\n").strip()
        if not title or len(title) > 200:
            raise PublishError("a template needs a title of at most 200 characters", field="title")
        if not body:
            raise PublishError("a template needs a text", field="body")
        placeholders.placeholders(title, field="title")
        placeholders.placeholders(body, field="body")
        if template.lang not in ("nl", "en"):
            raise PublishError("language must be nl or en", field="lang")
        saved = msgspec.structs.replace(
            template, name=name, title=title, body=body, updated_by=actor.username,
            updated_at=self.clock(),
        )  # fmt: skip
        with self.engine.begin() as conn:
            try:
                saved = store.save_template(conn, saved)
            except store.TemplateExists as error:
                raise PublishStateError(str(error)) from error
            audit.record_action(conn, actor, "publish.template.save", details={"name": name})
        return saved

    def delete_template(self, actor: Actor, name: str) -> None:
        check(actor, "approve")
        with self.engine.begin() as conn:
            if not store.delete_template(conn, name):
                raise NotFound(f"no template {name!r}")
            audit.record_action(conn, actor, "publish.template.delete", details={"name": name})

    def from_template(
        self, actor: Actor, name: str, values: Mapping[str, str], **draft: object
    ) -> Publication:
        """A draft (not saved) with the template's title and text filled from `values`."""
        check(actor, "publish")
        found = self.template(name)
        return Publication(
            title=placeholders.render(found.title, values, field="title"),
            body=placeholders.render(found.body, values, field="body"),
            lang=found.lang,
            template=found.name,
            **draft,  # type: ignore[arg-type]
        )

    # -- the response ------------------------------------------------------------------------

    def responses(self, actor: Actor, publication_id: int) -> list[ResponseCount]:
        """Hour by hour after publishing (`publish.response_hours`, up to now): replies,
        reposts, quotes, links and their sentiment, beside the monitor's volume."""
        check(actor, "publish")
        with self.engine.connect() as conn:
            publication = store.get(conn, publication_id)
            if publication is None:
                raise NotFound(f"no publication {publication_id}")
            if publication.published_at is None:
                return []
            start = to_us(publication.published_at) // HOUR_US * HOUR_US
            hours = max(1, int(self.settings.publish.response_hours + 0.999999))
            now_us = to_us(self.clock())
            end = min(start + hours * HOUR_US, (now_us // HOUR_US + 1) * HOUR_US)
            found = deliveries_store.responses_between(conn, publication_id, start, end)
            monitor = (
                deliveries_store.monitor_hours(conn, publication.monitor_id, start, end)
                if publication.monitor_id is not None
                else None
            )
        counts: dict[int, dict[str, int]] = {
            hour: {} for hour in range(start, max(end, start + HOUR_US), HOUR_US)
        }
        for created_us, kind, sentiment in found:
            bucket = counts[created_us // HOUR_US * HOUR_US]
            name = {"reply": "replies", "repost": "reposts", "quote": "quotes"}.get(kind, "links")
            bucket[name] = bucket.get(name, 0) + 1
            if sentiment in ("negative", "positive"):
                bucket[sentiment] = bucket.get(sentiment, 0) + 1
        return [
            ResponseCount(
                hour=from_us(hour),
                **values,
                monitor_posts=None if monitor is None else monitor.get(hour, (0, 0))[0],
                monitor_negative=None if monitor is None else monitor.get(hour, (0, 0))[1],
            )
            for hour, values in counts.items()
        ]
