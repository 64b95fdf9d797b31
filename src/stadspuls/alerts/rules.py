"""Alert rules: which detectors watch a monitor, how sensitively, when to stay quiet and where
alerts go. Pure values and checks; `store/alert_rules.py` keeps them.

A channel is "live" (the dashboard and `/api/alerts/stream`, always on), "webhook:NAME" (a
webhook named in the settings) or "email:ADDRESS". Quiet hours are local time in
Europe/Amsterdam, "HH:MM-HH:MM", and may wrap midnight ("23:00-07:00").
"""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import msgspec

from stadspuls.records import DETECTORS

LOCAL = ZoneInfo("Europe/Amsterdam")
LIVE = "live"
DEFAULT_CHANNELS = (LIVE,)
MAX_CHANNELS = 20

_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
_WEBHOOK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class RuleError(ValueError):
    """A rule that cannot be kept as given; the message says why in one line."""


class AlertRule(msgspec.Struct, frozen=True, kw_only=True):
    """One monitor's settings for one detector, as stored."""

    monitor_id: int
    detector: str
    enabled: bool = True
    sensitivity: float = 1.0
    quiet_hours: str | None = None
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    params: dict[str, float | str | list[str]] = msgspec.field(default_factory=dict)


def default_rule(monitor_id: int, detector: str) -> AlertRule:
    """What a monitor without a rule row for `detector` gets: on, sensitivity 1, live only."""
    return AlertRule(monitor_id=monitor_id, detector=detector)


def parse_quiet_hours(spec: str) -> tuple[time, time]:
    match = _QUIET.match(spec)
    if match is None:
        raise RuleError(f"quiet hours {spec!r} are not HH:MM-HH:MM (e.g. 23:00-07:00)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h1, m1) == (h2, m2):
        raise RuleError(f"quiet hours {spec!r} start and end at the same minute")
    return time(h1, m1), time(h2, m2)


def is_quiet(spec: str | None, moment: datetime) -> bool:
    """Whether `moment` (UTC-aware) falls in the quiet hours `spec` (Europe/Amsterdam)."""
    if not spec:
        return False
    start, end = parse_quiet_hours(spec)
    local = moment.astimezone(LOCAL).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight


def split_channel(channel: str) -> tuple[str, str]:
    """("live", "") | ("webhook", NAME) | ("email", ADDRESS)."""
    if channel == LIVE:
        return LIVE, ""
    kind, _, target = channel.partition(":")
    if kind == "webhook" and _WEBHOOK.match(target):
        return kind, target
    if kind == "email" and _EMAIL.match(target):
        return kind, target
    raise RuleError(f"channel {channel!r} is not live, webhook:NAME or email:ADDRESS")


def check_rule(rule: AlertRule, *, webhooks: set[str] | None = None, smtp: bool = True) -> None:
    """Raise RuleError for a rule that could not work; `webhooks` are the configured names
    (None: not checked), `smtp` whether an SMTP server is configured."""
    if rule.detector not in DETECTORS:
        raise RuleError(f"unknown detector {rule.detector!r}; known: {', '.join(DETECTORS)}")
    if not 0.1 <= rule.sensitivity <= 10:
        raise RuleError(f"sensitivity {rule.sensitivity:g} is outside 0.1 … 10")
    if rule.quiet_hours is not None:
        parse_quiet_hours(rule.quiet_hours)
    if len(rule.channels) > MAX_CHANNELS:
        raise RuleError(f"at most {MAX_CHANNELS} channels per rule")
    for channel in rule.channels:
        kind, target = split_channel(channel)
        if kind == "webhook" and webhooks is not None and target not in webhooks:
            known = ", ".join(sorted(webhooks)) or "none configured"
            raise RuleError(f"no webhook named {target!r} in the settings ({known})")
        if kind == "email" and not smtp:
            raise RuleError(f"channel {channel!r} needs an [smtp] server in the settings")
