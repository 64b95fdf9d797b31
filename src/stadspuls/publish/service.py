"""Publishing: compose, preview, submit, approve (four eyes, or its author in crisis mode),
schedule, cancel; the history of each publication. Templates, crisis mode and the response
are in publish/admin.py (part of the same service).

Who may do what: "publish" composes, submits and cancels one's own publications (and reads
all of them); "approve" approves or rejects someone else's, cancels any, declares a crisis
mode and keeps the templates. Under the four-eyes rule (`publish.four_eyes`) the author may
not approve their own publication, unless a crisis mode is in force: then it is approved with
`crisis=True`, and the history says so. Every change writes an event in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import msgspec
import sqlalchemy as sa

from stadspuls.access.roles import allows, check
from stadspuls.publish import compose
from stadspuls.publish.admin import PublishAdmin
from stadspuls.publish.errors import PublishError, PublishStateError
from stadspuls.publish.records import (
    PUBLICATION_STATES,
    Delivery,
    Preview,
    Publication,
    PublicationEvent,
)
from stadspuls.publish.targets import PublishTarget
from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.settings import Settings
from stadspuls.store import media as media_store
from stadspuls.store import publication_deliveries as deliveries_store
from stadspuls.store import publications as store
from stadspuls.store.rows import to_us

__all__ = ["PublishError", "PublishService", "PublishStateError"]

log = logging.getLogger(__name__)
EDITABLE = ("draft", "pending", "rejected")
CANCELLABLE = ("draft", "pending", "rejected", "approved")
MAX_REASON = 2000
# The fields an edit may change, named in its "edited" event.
_EDIT_FIELDS = (
    "title", "body", "variants", "link", "media", "targets", "lang", "monitor_id", "alert_id",
    "template", "scheduled_at",
)  # fmt: skip


class PublishService(PublishAdmin):
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        targets: Mapping[str, PublishTarget],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.targets = dict(targets)
        self.clock = clock or utcnow

    def available_targets(self) -> list[str]:
        """ "news" (always: our own page) and every configured channel, sorted."""
        return sorted({"news", *self.targets})

    # -- composing --------------------------------------------------------------------------

    def _checked(self, draft: Publication) -> Publication:
        draft = compose.normalise(draft)
        compose.check(draft, known_targets=self.available_targets(), now=self.clock())
        compose.check_fits(self.preview(draft))
        with self.engine.connect() as conn:
            missing = store.missing_refs(conn, monitor_id=draft.monitor_id, alert_id=draft.alert_id)
            citizens = media_store.case_hashes(conn, (item.sha256 for item in draft.media))
        if citizens:
            # A photo a citizen sent with a report is theirs: it is not ours to publish.
            raise PublishError(
                "an image of a citizen's report cannot be published; upload your own image",
                field="media",
            )
        if missing is not None:
            what = "monitor" if missing == "monitor_id" else "alert"
            raise PublishError(f"no such {what}", field=missing)
        return draft

    def preview(self, publication: Publication) -> list[Preview]:
        """What each chosen target will show (unknown targets are left out)."""
        return compose.previews(self.settings, self.targets, publication)

    def create(self, actor: Actor, draft: Publication) -> Publication:
        check(actor, "publish")
        draft = self._checked(draft)
        now = self.clock()
        publication = msgspec.structs.replace(
            draft, id=None, state="draft", created_by=actor.username, created_at=now,
            updated_at=now, submitted_at=None, approved_by=None, approved_at=None, crisis=False,
            rejected_reason=None, published_at=None, slug=compose.slugify(draft.title),
        )  # fmt: skip
        with self.engine.begin() as conn:
            publication = store.insert(conn, publication)
            assert publication.id is not None
            store.add_event(
                conn, publication.id, at=now, actor=actor.username, kind="created",
                details={"targets": list(publication.targets), "template": publication.template},
            )  # fmt: skip
        return publication

    def _own_or_approver(self, actor: Actor, publication: Publication, doing: str) -> None:
        check(actor, "publish")
        if publication.created_by != actor.username and not allows(actor, "approve"):
            raise Forbidden(actor, "approve") from PublishStateError(
                f"only its author or someone who may approve may {doing} this publication"
            )

    def _load(self, conn: sa.Connection, publication_id: int) -> Publication:
        found = store.get(conn, publication_id)
        if found is None:
            raise NotFound(f"no publication {publication_id}")
        return found

    def _change(
        self, conn: sa.Connection, old: Publication, new: Publication, *, actor: str, kind: str,
        details: Mapping[str, object] | None = None,
    ) -> Publication:  # fmt: skip
        """Write `new` if `old` is still as read (its state unchanged), with an event."""
        assert old.id is not None
        if not store.update(conn, new, expect_state=old.state):
            raise PublishStateError(f"publication {old.id} was changed meanwhile; reload it")
        store.add_event(conn, old.id, at=self.clock(), actor=actor, kind=kind, details=details)
        return new

    def update(self, actor: Actor, publication_id: int, draft: Publication) -> Publication:
        """Edit a draft, a pending or a rejected publication; an edit after submitting sends
        it back to draft (it must be submitted, and approved, again as it now is)."""
        draft = self._checked(draft)
        with self.engine.begin() as conn:
            old = self._load(conn, publication_id)
            self._own_or_approver(actor, old, "edit")
            if old.state not in EDITABLE:
                raise PublishStateError(f"a {old.state} publication cannot be edited")
            changed = [name for name in _EDIT_FIELDS if getattr(old, name) != getattr(draft, name)]
            values = {name: getattr(draft, name) for name in _EDIT_FIELDS}
            new = msgspec.structs.replace(
                old, **values, state="draft", updated_at=self.clock(), submitted_at=None,
                slug=old.slug if old.title == draft.title else compose.slugify(draft.title),
            )  # fmt: skip
            return self._change(
                conn, old, new, actor=actor.username, kind="edited",
                details={"fields": changed, "from": old.state},
            )  # fmt: skip

    def submit(self, actor: Actor, publication_id: int) -> Publication:
        """Ask for approval (draft or rejected -> pending)."""
        with self.engine.begin() as conn:
            old = self._load(conn, publication_id)
            self._own_or_approver(actor, old, "submit")
            if old.state not in ("draft", "rejected"):
                raise PublishStateError(f"a {old.state} publication cannot be submitted")
            # The schedule may have passed while it was a draft.
            self._check_schedule(old)
            now = self.clock()
            new = msgspec.structs.replace(
                old, state="pending", submitted_at=now, updated_at=now, rejected_reason=None
            )
            return self._change(conn, old, new, actor=actor.username, kind="submitted")

    def _check_schedule(self, publication: Publication) -> None:
        if publication.scheduled_at is not None and publication.scheduled_at < self.clock():
            raise PublishError(
                "the scheduled time has passed; choose another or none", field="scheduled_at"
            )

    def approve(self, actor: Actor, publication_id: int) -> Publication:
        """Approve a pending publication: it goes out at once, or waits for its time."""
        check(actor, "approve")
        with self.engine.begin() as conn:
            old = self._load(conn, publication_id)
            if old.state != "pending":
                raise PublishStateError(f"a {old.state} publication cannot be approved")
            crisis = False
            if self.settings.publish.four_eyes and old.created_by == actor.username:
                if store.active_crisis(conn, to_us(self.clock())) is None:
                    raise PublishStateError(
                        "four eyes: someone else must approve your publication (outside a"
                        " declared crisis mode)"
                    )
                crisis = True
            now = self.clock()
            new = msgspec.structs.replace(
                old, state="approved", approved_by=actor.username, approved_at=now,
                updated_at=now, crisis=crisis,
            )  # fmt: skip
            self._change(conn, old, new, actor=actor.username, kind="approved",
                         details={"crisis": crisis})  # fmt: skip
            if new.scheduled_at is not None and new.scheduled_at > now:
                store.add_event(
                    conn, publication_id, at=now, actor=actor.username, kind="scheduled",
                    details={"at": new.scheduled_at.isoformat()},
                )  # fmt: skip
                return new
            return self._release(conn, new, now)

    def _release(self, conn: sa.Connection, publication: Publication, now: datetime) -> Publication:
        """approved -> published, with one pending delivery per target (in `conn`)."""
        assert publication.id is not None
        new = msgspec.structs.replace(
            publication, state="published", published_at=now, updated_at=now
        )
        if not store.update(conn, new, expect_state="approved"):
            raise PublishStateError(f"publication {publication.id} was changed meanwhile")
        deliveries_store.create(conn, publication.id, publication.targets, to_us(now))
        store.add_event(
            conn, publication.id, at=now, actor="system", kind="published",
            details={"targets": list(publication.targets)},
        )  # fmt: skip
        return new

    def reject(self, actor: Actor, publication_id: int, reason: str) -> Publication:
        """Send a pending publication back to its author, with a reason."""
        check(actor, "approve")
        reason = reason.strip()
        if not reason:
            raise PublishError("say why it is rejected", field="reason")
        if len(reason) > MAX_REASON:
            raise PublishError(f"a reason is at most {MAX_REASON} characters", field="reason")
        with self.engine.begin() as conn:
            old = self._load(conn, publication_id)
            if old.state != "pending":
                raise PublishStateError(f"a {old.state} publication cannot be rejected")
            new = msgspec.structs.replace(
                old, state="rejected", rejected_reason=reason, updated_at=self.clock()
            )
            return self._change(conn, old, new, actor=actor.username, kind="rejected",
                                details={"reason": reason})  # fmt: skip

    def cancel(self, actor: Actor, publication_id: int) -> Publication:
        """Anything not yet published: its author, or anyone who may approve."""
        with self.engine.begin() as conn:
            old = self._load(conn, publication_id)
            self._own_or_approver(actor, old, "cancel")
            if old.state not in CANCELLABLE:
                raise PublishStateError(f"a {old.state} publication cannot be cancelled")
            new = msgspec.structs.replace(old, state="cancelled", updated_at=self.clock())
            return self._change(conn, old, new, actor=actor.username, kind="cancelled",
                                details={"from": old.state})  # fmt: skip

    # -- reading -----------------------------------------------------------------------------

    def get(self, actor: Actor, publication_id: int) -> Publication:
        check(actor, "publish")
        with self.engine.connect() as conn:
            return self._load(conn, publication_id)

    def recent(
        self, actor: Actor, *, state: str | None = None, limit: int = 100,
        before_id: int | None = None,
    ) -> list[Publication]:  # fmt: skip
        check(actor, "publish")
        if state is not None and state not in PUBLICATION_STATES:
            raise PublishError(
                f"state must be one of {', '.join(PUBLICATION_STATES)}", field="state"
            )
        with self.engine.connect() as conn:
            return store.recent(
                conn, state=state, limit=max(1, min(limit, 1000)), before_id=before_id
            )

    def deliveries(self, actor: Actor, publication_id: int) -> list[Delivery]:
        check(actor, "publish")
        with self.engine.connect() as conn:
            self._load(conn, publication_id)
            return deliveries_store.of_publication(conn, publication_id)

    def events(self, actor: Actor, publication_id: int) -> list[PublicationEvent]:
        check(actor, "publish")
        with self.engine.connect() as conn:
            self._load(conn, publication_id)
            return store.events(conn, publication_id)

    def release_due(self, now: datetime | None = None) -> int:
        """Approved publications whose time has come become published: one pending delivery
        per target. Returns how many. Two runners at once release each publication once."""
        now = now or self.clock()
        released = 0
        with self.engine.connect() as conn:
            due = store.due(conn, to_us(now))
        for publication in due:
            try:
                with self.engine.begin() as conn:
                    self._release(conn, publication, now)
                released += 1
            except PublishStateError:
                continue  # another runner (or a cancel) came first
        return released

    def published(self, *, limit: int = 30, before_id: int | None = None) -> list[Publication]:
        """For the public news page and feeds: published publications with target "news",
        newest first (no actor: public)."""
        with self.engine.connect() as conn:
            return store.published_news(conn, limit=max(1, min(limit, 500)), before_id=before_id)

    def published_one(self, publication_id: int) -> Publication | None:
        """One item of the public news page: None unless published with target "news"."""
        with self.engine.connect() as conn:
            found = store.get(conn, publication_id)
        if found is None or found.state != "published" or "news" not in found.targets:
            return None
        return found
