"""When a signal opens a new alert and when it updates an open one: one rule, used by the store
and by the in-memory replays (backtest, evaluation) alike."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from stadspuls.records import SEVERITIES, Alert, Signal

# A signal continues an alert of the same monitor, detector and key that is still open (or
# acknowledged) and was last triggered at most this long before. Longer quiet means a new episode.
COOLDOWN = timedelta(hours=6)
LIVE = ("open", "acknowledged")


def continues(alert: Alert, signal: Signal, cooldown: timedelta = COOLDOWN) -> bool:
    return (
        alert.state in LIVE
        and (alert.monitor_id, alert.detector, alert.key)
        == (signal.monitor_id, signal.detector, signal.key)
        and signal.at - alert.updated_at <= cooldown
    )


def open_alert(signal: Signal) -> Alert:
    return Alert(
        monitor_id=signal.monitor_id,
        detector=signal.detector,
        key=signal.key,
        severity=signal.severity,
        opened_at=signal.at,
        started_at=signal.started_at,
        updated_at=signal.at,
        observed=signal.observed,
        expected=signal.expected,
        summary=signal.summary,
        top_terms=signal.top_terms,
        top_places=signal.top_places,
        post_ids=signal.post_ids,
        details=signal.details,
    )


def fold(alert: Alert, signal: Signal) -> Alert:
    """The alert after one more signal: the latest numbers, the highest severity so far."""
    severity = max(alert.severity, signal.severity, key=SEVERITIES.index)
    return msgspec.structs.replace(
        alert,
        severity=severity,
        updated_at=max(alert.updated_at, signal.at),
        started_at=min(alert.started_at, signal.started_at),
        triggers=alert.triggers + 1,
        observed=signal.observed,
        expected=signal.expected,
        summary=signal.summary or alert.summary,
        top_terms=signal.top_terms or alert.top_terms,
        top_places=signal.top_places or alert.top_places,
        post_ids=signal.post_ids or alert.post_ids,
        details=signal.details or alert.details,
    )


class AlertBook:
    """The alerts of a replay, in memory: `add` says whether a signal opened or updated one."""

    def __init__(self, cooldown: timedelta = COOLDOWN) -> None:
        self.cooldown = cooldown
        self.alerts: list[Alert] = []
        self._latest: dict[tuple[int, str, str], int] = {}

    def add(self, signal: Signal) -> tuple[str, Alert]:
        where = (signal.monitor_id, signal.detector, signal.key)
        index = self._latest.get(where)
        if index is not None and continues(self.alerts[index], signal, self.cooldown):
            self.alerts[index] = fold(self.alerts[index], signal)
            return "updated", self.alerts[index]
        self._latest[where] = len(self.alerts)
        self.alerts.append(open_alert(signal))
        return "opened", self.alerts[-1]

    def opened(self) -> list[datetime]:
        return [alert.opened_at for alert in self.alerts]
