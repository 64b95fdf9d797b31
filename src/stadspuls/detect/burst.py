"""Volume bursts: a monitor's last minutes against its own rhythm.

Per monitor the detector counts posts in one-minute slots and tests the last `WINDOW` minutes
against what the monitor's history expects for them: the larger of

- the recent levels, exponentially weighted means of the per-minute counts that have left the
  window (time constants `LEVEL_TAU` and `FAST_TAU` minutes; the window itself never feeds its
  own baseline),
- the slower level of the long window below (in a quiet stream an hour holds too few posts to
  know its rate), and
- the seasonal level of the current hour (or of the nearer neighbour hour, if busier: on a
  learnt ramp the end of an hour is busier than its mean): hour of the week once that slot has
  been seen in `WEEK_MIN` weeks (alone after `WEEK_SURE`), else hour of the day once seen on
  `DAY_MIN` days (a Friday night at Stratumseind is not a Monday morning, and the nightly peak
  is learnt from the first night).

The same test runs on the last `LONG` minutes against the slower level (`LONG_TAU`), so a rise
too slow or too thin for ten minutes (the evening's fires on New Year's Eve) is seen too. A
monitor's very first night has nothing to compare with but the recent level: its peak may be
flagged once; from the second night on the learnt rhythm is expected.

A window is abnormal when its count is improbable under a Poisson law with that expectation
(upper tail below `P_VALUE`), at least `RATIO` times it, and at least `FLOOR` posts: a handful
of posts in a quiet monitor can raise it, one or two cannot. A monitor starts cold: its levels
start from a prior of `PRIOR_RATE` and learn as a running mean from when the detector began to
watch the stream (at most `QUIET_MAX` before the monitor's first post: its quiet counts too),
and it raises nothing in its first `WARMUP` minutes. While abnormal, every post emits a
signal (the alert layer folds them); the window then counts only slowly into the levels
(`ALARM_DAMPING`), so a long surge stays one episode but a new normal is eventually learnt.

This is Twitinfo's EWMA detector (Marcus et al., CHI 2011) with a Poisson test in place of the
mean deviation, a second window for slow rises and a seasonal floor under the expectation. Hours
are UTC hours: the learnt rhythm shifts by one hour when the clocks change.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import msgspec

from stadspuls.detect import terms
from stadspuls.detect.base import Detector, Rule
from stadspuls.records import Post, Signal

WINDOW = 10  # minutes in the short window (Twitinfo and the baseline use 10-min bins)
# A slow rise in a quiet stream (an evening's fires: 2 an hour, then 15) never fills a 10-minute
# window; an hour-long window against a slower level sees it.
LONG = 60
LONG_TAU = 360.0
LEVEL_TAU = 60.0  # minutes: how fast the recent level follows the stream
# A second, faster level follows a smooth rise (an evening's ramp) that the slow one lags behind;
# a sudden surge outruns both.
FAST_TAU = 20.0
PRIOR_RATE = 1 / 60  # posts per minute a new monitor is assumed to get (one an hour)
PRIOR_MINUTES = 10  # weight of that prior, in minutes of history
WARMUP = 30  # minutes of a monitor's history before it can raise anything
# A monitor's history starts when the detector started watching the stream, but at most this
# long before its first post: a new monitor is taken to have been quiet for a day.
QUIET_MAX = 24 * 60
WEEK_MIN = 2  # weeks an hour-of-week slot is seen before it counts
WEEK_SURE = 4  # weeks before it replaces the daily rhythm (a quiet Monday morning)
DAY_MIN = 1  # days an hour-of-day slot is seen before it is trusted
SEASON_WEIGHT = 0.25  # the least weight a new week/day gets in a slot (about the last 4)
# Chosen on the ten tuning events of CrisisLexT26 (detect/evaluation.py: p-value 1e-5/1e-4/1e-3,
# floor 4/5, ratio 1.5/2, LONG_TAU 180/360): the fewest alerts per event (2.6) at a median delay
# of 2.2 h; sensitivity 2 (p about 3e-4) brings that to 0.8 h at 3.7 alerts per event. Every post
# tests its window, so the p-value is far below the usual 1e-2.
P_VALUE = 1e-5
RATIO = 2.0
FLOOR = 5  # posts in the window: "a handful"; at sensitivity 2 it is 4
EXIT_RATIO = 1.5  # an alarm lasts while the window keeps this ratio (hysteresis)
ALARM_DAMPING = 0.25  # share of the normal level update while in alarm
BUFFER = 40  # recent posts kept per monitor to explain an alarm
HOURS_PER_WEEK = 168
_EPOCH_MONDAY = 4 * 24  # hours from 1970-01-01 (a Thursday) to the start of a Monday slot 0


class _Recent(msgspec.Struct, array_like=True):
    minute: int
    post_id: str
    terms: tuple[str, ...]
    places: tuple[str, ...]
    duplicate: bool


class MonitorState(msgspec.Struct, kw_only=True):
    first_minute: int
    minute: int  # the latest minute seen
    slots: list[int]  # posts per minute, ring indexed by minute % LONG
    long_sum: int = 0  # posts in the ring
    level: float = PRIOR_RATE  # posts per minute
    fast: float = PRIOR_RATE
    long_level: float = PRIOR_RATE
    long_folded: int = 0
    folded: int = 0  # minutes folded into the level (drives the running mean of the warm-up)
    hour: int = 0  # hours since the epoch of the current hour
    hour_count: int = 0
    week: list[float] = msgspec.field(default_factory=lambda: [0.0] * HOURS_PER_WEEK)
    week_seen: list[int] = msgspec.field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    day: list[float] = msgspec.field(default_factory=lambda: [0.0] * 24)
    day_seen: list[int] = msgspec.field(default_factory=lambda: [0] * 24)
    alarm_since: int | None = None  # first minute of the abnormal window
    alarm_width: int = WINDOW  # the window that raised it
    recent: list[_Recent] = msgspec.field(default_factory=list)


class _Snapshot(msgspec.Struct, array_like=True):
    first_seen: int | None
    monitors: dict[int, MonitorState]


@functools.lru_cache(maxsize=8192)
def _critical(mean_key: int, p_key: int) -> int:
    """The least count k with P(X >= k) <= p for X ~ Poisson(mean) (keys: quantised logs)."""
    mean, p = math.exp(mean_key / 50), math.exp(p_key / 10)
    if mean > 400:  # normal approximation, with a continuity margin
        z = math.sqrt(-2 * math.log(p)) * 0.95
        return math.ceil(mean + z * math.sqrt(mean) + 0.5)
    pmf = math.exp(-mean)
    tail = 1.0 - pmf
    k = 1
    while tail > p:
        pmf *= mean / k
        tail -= pmf
        k += 1
    return k


def critical_count(mean: float, p: float) -> int:
    return _critical(round(math.log(max(mean, 1e-6)) * 50), round(math.log(p) * 10))


def _leaving(slots: list[int], start: int, end: int, old: int) -> tuple[list[int], int]:
    """The counts of minutes start..end (inclusive) that are still in the slots (up to `old`),
    and how many minutes after `old` follow them (all empty)."""
    counts = [slots[x % LONG] for x in range(start, min(end, old) + 1)]
    return counts, max(0, end - max(start, old + 1) + 1)


def _from_minute(minute: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)


class BurstDetector(Detector):
    name = "burst"

    def __init__(self) -> None:
        self.monitors: dict[int, MonitorState] = {}
        self.first_seen: int | None = None  # the first minute of the stream this detector saw
        self._alpha = 1 - math.exp(-1 / LEVEL_TAU)
        self._fast = 1 - math.exp(-1 / FAST_TAU)
        self._long = 1 - math.exp(-1 / LONG_TAU)

    def observe(self, post: Post, monitors: Mapping[int, Rule]) -> list[Signal]:
        minute = math.floor(post.created_at.timestamp() / 60)
        if self.first_seen is None:
            self.first_seen = minute
        if not monitors:
            return []
        recent = _Recent(
            minute,
            post.id,
            terms.content_terms(post.text),
            tuple(place.name for place in post.places),
            post.duplicate_of is not None,
        )
        signals = []
        for monitor_id, rule in monitors.items():
            state = self.monitors.get(monitor_id)
            if state is None:
                state = self.monitors[monitor_id] = self._new_monitor(minute)
            signal = self._count(monitor_id, state, minute, recent, rule, post.created_at)
            if signal is not None:
                signals.append(signal)
        return signals

    def _count(
        self,
        monitor_id: int,
        state: MonitorState,
        minute: int,
        recent: _Recent,
        rule: Rule,
        at: datetime,
    ) -> Signal | None:
        if minute > state.minute:
            self._advance(state, minute)
        # A post older than the latest minute (a late arrival) counts in the latest one.
        state.slots[state.minute % LONG] += 1
        state.long_sum += 1
        state.hour_count += 1
        state.recent.append(recent)
        if len(state.recent) > BUFFER:
            del state.recent[0]
        # on a learnt ramp the end of an hour is busier than its mean: expect the busier of this
        # hour and the nearer neighbour
        into = state.minute % 60 + 1
        neighbour = state.hour + 1 if into > 30 else state.hour - 1
        seasonal = max(self._seasonal(state, state.hour), self._seasonal(state, neighbour))
        # the long window reaches into the previous hour: expect its rhythm for that share
        previous = self._seasonal(state, state.hour - 1)
        current = self._seasonal(state, state.hour)
        long_seasonal = (current * into + previous * max(LONG - into, 0)) / LONG
        short = sum(state.slots[(state.minute - i) % LONG] for i in range(WINDOW))
        tests = (
            # the long level too: in a quiet stream an hour holds too few posts to know its rate
            (short, WINDOW * max(state.level, state.fast, state.long_level, seasonal), WINDOW),
            (state.long_sum, LONG * max(state.long_level, long_seasonal), LONG),
        )
        sensitivity = max(rule.sensitivity, 1e-3)
        if state.alarm_since is None:
            p = min(P_VALUE ** (1 / math.sqrt(sensitivity)), 0.5)
            floor = max(3, math.ceil(FLOOR / math.sqrt(sensitivity)))
            ratio = 1 + (RATIO - 1) / sensitivity
            for observed, expected, width in tests:
                history = state.minute - width + 1 - state.first_minute
                if (
                    history >= max(WARMUP, width)  # an hour's window needs an hour before it
                    and observed >= max(floor, ratio * expected)
                    and observed >= critical_count(expected, p)
                ):
                    window = range(state.minute - width + 1, state.minute + 1)
                    state.alarm_since = next(m for m in window if state.slots[m % LONG])
                    state.alarm_width = width
                    break
            else:
                return None
        exit_ratio = EXIT_RATIO / sensitivity
        observed, expected, width = tests[0] if state.alarm_width == WINDOW else tests[1]
        if observed < max(2.0, exit_ratio * expected):
            state.alarm_since = None
            return None
        return self._signal(monitor_id, state, observed, expected, width, at)

    def _signal(
        self,
        monitor_id: int,
        state: MonitorState,
        observed: int,
        expected: float,
        width: int,
        at: datetime,
    ) -> Signal:
        assert state.alarm_since is not None
        since = max(state.alarm_since, state.minute - width + 1)
        window = [r for r in state.recent if r.minute >= since]
        top = terms.top_terms(r.terms for r in window)
        places: dict[str, int] = {}
        for r in window:
            for place in r.places:
                places[place] = places.get(place, 0) + 1
        ratio = observed / max(expected, 1e-9)
        severity = "high" if ratio >= 8 else "medium" if ratio >= 4 else "low"
        return Signal(
            monitor_id=monitor_id,
            detector=self.name,
            at=at,
            started_at=_from_minute(state.alarm_since),
            observed=float(observed),
            expected=round(expected, 3),
            severity=severity,
            summary=f"{observed} posts in {width} min, {expected:.1f} expected",
            top_terms=top,
            top_places=tuple(sorted(places, key=lambda p: -places[p])[:3]),
            post_ids=terms.representative([(r.post_id, r.terms, r.duplicate) for r in window], top),
            details={"ratio": round(ratio, 2), "window_min": float(width)},
        )

    def _advance(self, state: MonitorState, minute: int) -> None:
        """Move the windows to end at `minute`: minutes leaving the short window feed the
        recent levels, minutes leaving the long one the long level. Most of those minutes are
        empty in all but the busiest monitors: runs of them are folded in one step."""
        old, slots, first = state.minute, state.slots, state.first_minute
        gap = minute - old
        damping = ALARM_DAMPING if state.alarm_since is not None else 1.0
        # the minutes that leave each window, oldest first; those after `old` had no posts and
        # are passed as a count (a gap of months is one step, not a list of zeros)
        short = _leaving(slots, max(old + 1, first + WINDOW) - WINDOW, minute - WINDOW, old)
        long = _leaving(slots, max(old + 1, first + LONG) - LONG, minute - LONG, old)
        for m in range(old + 1, old + 1 + min(gap, LONG)):
            index = m % LONG
            state.long_sum -= slots[index]
            slots[index] = 0
        (state.level, state.fast), state.folded = _fold(
            (state.level, state.fast), (self._alpha, self._fast), state.folded, short, damping
        )
        (state.long_level,), state.long_folded = _fold(
            (state.long_level,), (self._long,), state.long_folded, long, damping
        )
        state.minute = minute
        hour = minute // 60
        if hour > state.hour:
            self._close_hours(state, hour)

    def _close_hours(self, state: MonitorState, hour: int) -> None:
        # The monitor's first hour was seen only from its first post on.
        count = state.hour_count
        first_hour = state.first_minute // 60
        for h in range(state.hour, min(hour, state.hour + HOURS_PER_WEEK)):
            seen = 60 - state.first_minute % 60 if h == first_hour else 60
            if seen >= 15:
                rate = count / seen
                week, day = (h - _EPOCH_MONDAY) % HOURS_PER_WEEK, h % 24
                _learn(state.week, state.week_seen, week, rate)
                _learn(state.day, state.day_seen, day, rate)
            count = 0
        state.hour, state.hour_count = hour, 0

    def _seasonal(self, state: MonitorState, hour: int) -> float:
        week = (hour - _EPOCH_MONDAY) % HOURS_PER_WEEK
        day = hour % 24
        daily = state.day[day] if state.day_seen[day] >= DAY_MIN else 0.0
        if state.week_seen[week] >= WEEK_SURE:
            return state.week[week]
        if state.week_seen[week] >= WEEK_MIN:  # a few weeks: noisy, the daily rhythm bounds it
            return max(state.week[week], daily)
        return daily

    def _new_monitor(self, minute: int) -> MonitorState:
        """A monitor's first post: the stream was quiet for it since this detector started
        watching (at most QUIET_MAX minutes), so a handful of posts at once stands out."""
        assert self.first_seen is not None
        start = max(self.first_seen, minute - QUIET_MAX)
        state = MonitorState(first_minute=start, minute=start, slots=[0] * LONG, hour=start // 60)
        if minute > start:
            self._advance(state, minute)
        return state

    def forget(self, monitor_id: int) -> None:
        self.monitors.pop(monitor_id, None)

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(_Snapshot(self.first_seen, self.monitors))

    def restore(self, data: bytes) -> None:
        state = msgspec.msgpack.decode(data, type=_Snapshot)
        self.first_seen, self.monitors = state.first_seen, state.monitors


def _fold(
    levels: tuple[float, ...],
    alphas: tuple[float, ...],
    folded: int,
    leaving: tuple[list[int], int],
    damping: float,
) -> tuple[tuple[float, ...], int]:
    """`levels` (each with its `alphas`) after the minutes leaving a window: a count each, then
    `leaving[1]` empty minutes; runs of empty minutes are decayed in one step. Returns the new
    levels and the number of minutes folded so far."""
    counts, empty = leaving
    values = list(levels)
    zeros = 0
    for count in counts:
        if not count:
            zeros += 1
            continue
        if zeros:
            values = [
                _decay(v, folded, zeros, a, damping) for v, a in zip(values, alphas, strict=True)
            ]
            folded += zeros
            zeros = 0
        running = 1 / (PRIOR_MINUTES + folded + 1)
        values = [
            v + max(a, running) * damping * (count - v) for v, a in zip(values, alphas, strict=True)
        ]
        folded += 1
    zeros += empty
    if zeros:
        values = [_decay(v, folded, zeros, a, damping) for v, a in zip(values, alphas, strict=True)]
        folded += zeros
    return tuple(values), folded


def _decay(level: float, folded: int, minutes: int, alpha: float, damping: float) -> float:
    """A level after `minutes` empty minutes: while it is still a running mean (its weight
    1 / (PRIOR_MINUTES + n + 1) above `alpha`) k zeros scale it by (P + n) / (P + n + k), then
    each scales it by 1 - alpha (damped, the running part to the power of the damping)."""
    running = max(0, min(minutes, math.ceil(1 / alpha - PRIOR_MINUTES - 1) - folded))
    if running:
        level *= ((PRIOR_MINUTES + folded) / (PRIOR_MINUTES + folded + running)) ** damping
    return level * (1 - alpha * damping) ** (minutes - running)


def _learn(values: list[float], seen: list[int], slot: int, rate: float) -> None:
    seen[slot] += 1
    weight = max(SEASON_WEIGHT, 1 / seen[slot])
    values[slot] += weight * (rate - values[slot])
