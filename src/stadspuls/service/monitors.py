"""Monitors: read by every role (names, purpose, counts), changed by analysts and up. A query
with `@handle` is re-identification (see `reidentify`); every change is audited."""

from __future__ import annotations

from collections.abc import Mapping

from stadspuls import monitors
from stadspuls.access.roles import check
from stadspuls.monitors import Progress, effective_query
from stadspuls.query.parser import parse
from stadspuls.records import Actor, Monitor
from stadspuls.service.errors import NotFound
from stadspuls.service.reidentify import Reidentification, handles_in
from stadspuls.store import monitors as store


class MonitorReads(Reidentification):
    """Monitors (read: "aggregates"; change: "posts")."""

    def monitors(self, actor: Actor) -> list[tuple[Monitor, int]]:
        """Every monitor with the number of posts it holds now."""
        check(actor, "aggregates")
        counts = store.link_counts(self.engine)
        return [(m, counts.get(m.id or 0, 0)) for m in store.list_monitors(self.engine)]

    def monitor_names(self, actor: Actor) -> dict[int, str]:
        """Every monitor's name by id, without counting anything (for pages that list alerts
        or places and only need to name their monitors)."""
        check(actor, "aggregates")
        return {m.id: m.name for m in store.list_monitors(self.engine) if m.id is not None}

    def monitor(self, actor: Actor, monitor_id: int) -> tuple[Monitor, int]:
        check(actor, "aggregates")
        found = store.get_monitor(self.engine, monitor_id)
        if found is None:
            raise NotFound(f"no monitor {monitor_id}")
        return found, store.link_count(self.engine, monitor_id)

    def _handles(self, actor: Actor, monitor: Monitor, reason: str | None) -> bool:
        """Whether the monitor's query names handles; if so the actor must be allowed to."""
        if not handles_in(parse(effective_query(monitor))):
            return False
        self.check_reidentify(actor, reason)
        return True

    def create_monitor(
        self,
        actor: Actor,
        monitor: Monitor,
        reason: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> tuple[Monitor, int]:
        """Save a monitor (its owner: the actor, unless named) and match it against the archive.
        `MonitorError`/`QuerySyntaxError` for one that cannot run, `MonitorExists` for a name
        in use."""
        check(actor, "posts")
        if not monitor.owner.strip():
            monitor = monitors.replace(monitor, owner=actor.username)
        monitors.validate(monitor)
        named = self._handles(actor, monitor, reason)
        saved, matched = monitors.create(
            self.engine,
            monitor,
            pseudonymise=self.pseudonymise if named else None,
            progress=progress,
        )
        with self.engine.begin() as conn:
            if named:
                self.audit(
                    conn,
                    actor,
                    "reidentify",
                    monitor_id=saved.id,
                    query=saved.query,
                    reason=(reason or "").strip(),
                )
            self.audit(
                conn,
                actor,
                "monitor.add",
                monitor_id=saved.id,
                query=saved.query,
                details={"name": saved.name, "matched": matched},
            )
        return saved, matched

    def update_monitor(
        self,
        actor: Actor,
        monitor_id: int,
        changes: Mapping[str, object],
        reason: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> tuple[Monitor, int | None]:
        """Change the fields in `changes`; a changed query or place list re-matches the archive
        (the number matched is returned, None when nothing was re-matched)."""
        check(actor, "posts")
        before = store.get_monitor(self.engine, monitor_id)
        if before is None:
            raise NotFound(f"no monitor {monitor_id}")
        after = monitors.replace(before, **dict(changes))
        monitors.validate(after)
        rematch = effective_query(after) != effective_query(before)
        named = rematch and self._handles(actor, after, reason)
        saved, matched = monitors.edit(
            self.engine, after, pseudonymise=self.pseudonymise if named else None, progress=progress
        )
        with self.engine.begin() as conn:
            if named:
                self.audit(
                    conn,
                    actor,
                    "reidentify",
                    monitor_id=monitor_id,
                    query=saved.query,
                    reason=(reason or "").strip(),
                )
            self.audit(
                conn,
                actor,
                "monitor.edit",
                monitor_id=monitor_id,
                query=saved.query,
                details={"changed": ",".join(sorted(changes)), "matched": matched},
            )
        return saved, matched

    def delete_monitor(self, actor: Actor, monitor_id: int) -> None:
        check(actor, "posts")
        found = store.get_monitor(self.engine, monitor_id)
        if found is None or not store.delete_monitor(self.engine, monitor_id):
            raise NotFound(f"no monitor {monitor_id}")
        with self.engine.begin() as conn:
            self.audit(
                conn,
                actor,
                "monitor.delete",
                monitor_id=monitor_id,
                query=found.query,
                details={"name": found.name},
            )
