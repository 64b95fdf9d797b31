"""Alerts: the inbox, one alert with its evidence, the operator's actions, and each monitor's
alert rules. All need "posts": an alert's summary, terms and evidence come from post texts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from stadspuls.access.roles import check
from stadspuls.alerts.rules import AlertRule, check_rule
from stadspuls.records import Actor, Alert
from stadspuls.service.base import ServiceBase
from stadspuls.service.errors import NotFound
from stadspuls.service.posts import post_view
from stadspuls.service.views import AlertView, Series
from stadspuls.store import alerts as store
from stadspuls.store import outbox
from stadspuls.store import posts as post_store
from stadspuls.store.monitors import get_monitor

# The evidence chart starts this long before the abnormal window, to show what was normal.
EVIDENCE_BEFORE = timedelta(hours=6)


class AlertReads(ServiceBase):
    """Alerts (permission "posts")."""

    if TYPE_CHECKING:  # provided by AggregateReads, beside this part in ReadService

        def series(
            self,
            actor: Actor,
            monitor_id: int,
            *,
            since: datetime,
            until: datetime,
            bucket_seconds: int,
        ) -> Series: ...

    def alerts(
        self,
        actor: Actor,
        state: str | None = None,
        monitor_id: int | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Alert]]:
        """(total, page newest first)."""
        check(actor, "posts")
        return store.list_alerts(
            self.engine,
            state=state,
            monitor_id=monitor_id,
            since=since,
            limit=limit,
            offset=offset,
        )

    def _alert(self, alert_id: int) -> Alert:
        found = store.get_alert(self.engine, alert_id)
        if found is None:
            raise NotFound(f"no alert {alert_id}")
        return found

    def alert(self, actor: Actor, alert_id: int) -> AlertView:
        """The alert with its evidence: the monitor's hourly volume from a few hours before it
        to its last update, its representative posts (audited "posts.view"), its events."""
        check(actor, "posts")
        alert = self._alert(alert_id)
        monitor = get_monitor(self.engine, alert.monitor_id)
        hour = 3600
        since = alert.started_at - EVIDENCE_BEFORE
        until = alert.updated_at + timedelta(hours=1)
        series = self.series(actor, alert.monitor_id, since=since, until=until, bucket_seconds=hour)
        with self.engine.begin() as conn:
            found = post_store.posts_by_ids(conn, alert.post_ids)
            self.audit(
                conn,
                actor,
                "posts.view",
                monitor_id=alert.monitor_id,
                posts=len(found),
                details={"alert": alert_id},
            )
        events = store.alert_events_of(self.engine, alert_id)
        return AlertView(
            alert=alert,
            monitor_name=monitor.name if monitor is not None else f"#{alert.monitor_id}",
            series=series,
            posts=tuple(post_view(p) for p in found),
            events=tuple((e.kind, e.at, e.actor) for e in events),
        )

    def alert_history(
        self, actor: Actor, alert_id: int
    ) -> tuple[Alert, list[store.AlertEvent], list[dict[str, object]]]:
        """The alert, every event (with the alert as it was after it) and its deliveries: no
        post texts, so no audit row."""
        check(actor, "posts")
        alert = self._alert(alert_id)
        return (
            alert,
            store.alert_events_of(self.engine, alert_id),
            outbox.deliveries_of(self.engine, alert_id),
        )

    def last_event_id(self, actor: Actor) -> int:
        """Where a live stream started now begins."""
        check(actor, "posts")
        return store.last_event_id(self.engine)

    def events_after(
        self, actor: Actor, event_id: int, limit: int = 500, also: Collection[int] = ()
    ) -> list[store.AlertEvent]:
        """Alert events after `event_id` (and those in `also`), oldest first: the live stream."""
        check(actor, "posts")
        return store.events_after(self.engine, event_id, limit, also=also)

    def acknowledge(self, actor: Actor, alert_id: int, note: str | None = None) -> Alert:
        """open -> acknowledged by the actor; `AlertStateError` (naming who) otherwise."""
        check(actor, "posts")
        try:
            return store.acknowledge(self.engine, alert_id, actor.username, note)
        except store.AlertNotFound as error:
            raise NotFound(str(error)) from error

    def resolve(
        self, actor: Actor, alert_id: int, note: str | None = None, false_alarm: bool = False
    ) -> Alert:
        check(actor, "posts")
        try:
            return store.resolve(self.engine, alert_id, actor.username, note, false_alarm)
        except store.AlertNotFound as error:
            raise NotFound(str(error)) from error

    def add_note(self, actor: Actor, alert_id: int, note: str) -> Alert:
        check(actor, "posts")
        try:
            return store.add_note(self.engine, alert_id, actor.username, note)
        except store.AlertNotFound as error:
            raise NotFound(str(error)) from error

    def rules(self, actor: Actor, monitor_id: int) -> list[AlertRule]:
        """The monitor's rule for every detector (the default where none was set)."""
        check(actor, "posts")
        if get_monitor(self.engine, monitor_id) is None:
            raise NotFound(f"no monitor {monitor_id}")
        return store.get_rules(self.engine, monitor_id)

    def set_rules(self, actor: Actor, monitor_id: int, rules: list[AlertRule]) -> list[AlertRule]:
        """Set the given detectors' rules (all checked before any is stored: `RuleError`)."""
        check(actor, "posts")
        if get_monitor(self.engine, monitor_id) is None:
            raise NotFound(f"no monitor {monitor_id}")
        webhooks = {hook.name for hook in self.settings.webhooks}
        smtp = self.settings.smtp is not None
        for rule in rules:
            check_rule(rule, webhooks=webhooks, smtp=smtp)
        for rule in rules:
            store.set_rule(self.engine, rule, webhooks=webhooks, smtp=smtp)
        with self.engine.begin() as conn:
            self.audit(
                conn,
                actor,
                "rules.edit",
                monitor_id=monitor_id,
                details={"detectors": ",".join(r.detector for r in rules)},
            )
        return store.get_rules(self.engine, monitor_id)
