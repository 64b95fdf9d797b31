"""`stadspuls eval bursts --data FILE.csv`: how early the burst detector sees real crises.

The file has the columns `event,created_at,text` (the CrisisLexT26 layout) and `events.json`
beside it gives each event's collection keywords. Each event gets a throw-away monitor: an OR
of its keywords (a hashtag as a hashtag term, several words as a phrase, a hashtag with words as
their AND). All posts of the file are replayed in time order through the door, all monitors at
once and the detector (`detect/replay.py`), so the other events are background.

Per event:

- the surge onset: the start of the first hour whose volume (all the event's posts in the file,
  matched or not) reaches 10 % of the event's peak hourly volume and at least 3 posts;
- a false alert: one opened more than 24 h before its event's onset, or whose window (its
  monitor's matched posts from the alert's start to its opening) holds mostly posts of other
  events; an update of an open alert is not a new alert;
- the detection delay: from the onset to the first alert that is not false (negative when it
  came before the onset, within the 24 h);
- false alerts per day: false alerts of all monitors over the days the replay spans.

The detector's defaults and the monitors' sensitivity (SENSITIVITY) were chosen on the ten
earliest events (TUNE: 2012 and the first half of 2013), never per event, and are reported on
the eight later ones (test) and on all. `--baseline` runs Twitinfo's plain EWMA on 10-minute
bins through the same matching and alert folding, for comparison.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.replay import Replay
from stadspuls.records import Alert, Post, Signal
from stadspuls.sources.base import MappingError
from stadspuls.sources.tabular import map_csv_row

ONSET_SHARE = 0.10
ONSET_MIN = 3
EARLY = timedelta(hours=24)
# The ten earliest events of CrisisLexT26 (2012 to June 2013): the settings were chosen on these.
TUNE = (
    "2012_Colorado_wildfires",
    "2012_Philipinnes_floods",
    "2012_Costa_Rica_earthquake",
    "2012_Guatemala_earthquake",
    "2012_Typhoon_Pablo",
    "2013_Queensland_floods",
    "2013_Russia_meteor",
    "2013_West_Texas_explosion",
    "2013_Singapore_haze",
    "2013_Alberta_floods",
)


# The monitors' sensitivity, chosen on TUNE among 1, 1.5, 2 and 3: the largest gain in delay
# (median 2.2 h -> 0.8 h) before alerts per event pass 4 (3: 0.7 h at 5.6 alerts per event).
SENSITIVITY = 2.0


class EvaluationError(ValueError):
    """The data cannot be evaluated as given (the message says why)."""


@dataclass
class EventResult:
    event: str
    posts: int
    matched: int
    onset: datetime | None  # None: the event never surges (its alerts are all false)
    alerts: int = 0
    false_alerts: int = 0
    first: datetime | None = None  # the first true alert

    @property
    def delay_h(self) -> float | None:
        if self.first is None or self.onset is None:
            return None
        return (self.first - self.onset).total_seconds() / 3600


@dataclass
class BurstReport:
    events: list[EventResult]
    days: float
    posts: int
    sensitivity: float
    baseline: bool = False

    def summary(self, names: Sequence[str] | None = None) -> dict[str, object]:
        named = [e for e in self.events if names is None or e.event in names]
        chosen = [e for e in named if e.onset is not None]
        delays = [e.delay_h for e in chosen if e.delay_h is not None]
        false = sum(e.false_alerts for e in named)
        return {
            "events": len(chosen),
            "detected": len(delays),
            "median_delay_h": round(statistics.median(delays), 2) if delays else None,
            "false_alerts_per_day": round(false / self.days, 3) if self.days else 0.0,
            "false_alerts": false,
            "alerts_per_event": round(sum(e.alerts for e in chosen) / max(len(chosen), 1), 2),
        }


def keyword_query(keywords: Sequence[str]) -> str:
    """An OR of the keywords in the query language (see query/parser.py)."""
    terms: list[str] = []
    for keyword in keywords:
        words = keyword.replace('"', " ").replace("(", " ").replace(")", " ").split()
        if not words:
            continue
        if len(words) == 1:
            terms.append(words[0])
        elif any(word.startswith("#") for word in words):
            terms.append("(" + " ".join(words) + ")")
        else:
            terms.append('"' + " ".join(words) + '"')
    if not terms:
        raise EvaluationError("an event without keywords cannot be monitored")
    return " OR ".join(dict.fromkeys(terms))


def read_events(path: Path) -> tuple[list[tuple[str, Post]], dict[str, list[str]]]:
    """(event, post) pairs of the file in time order and each event's keywords."""
    meta = path.with_name("events.json")
    if not meta.exists():
        raise EvaluationError(f"{meta} is missing: it gives each event's keywords")
    keywords = {
        name: list(event.get("keywords") or [])
        for name, event in json.loads(meta.read_text(encoding="utf-8")).items()
    }
    rows: list[tuple[str, Post]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"event", "created_at", "text"} - set(reader.fieldnames or [])
        if missing:
            raise EvaluationError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for number, row in enumerate(reader):
            # row numbers as ids: the same tweet text in two events stays two posts
            fields = {"id": str(number), "created_at": row["created_at"], "text": row["text"]}
            try:
                post = map_csv_row(fields)
            except MappingError as error:
                raise EvaluationError(f"{path}, row {number + 2}: {error}") from None
            rows.append((row["event"], post))
    rows.sort(key=lambda pair: pair[1].created_at)
    unknown = sorted({event for event, _ in rows} - set(keywords))
    if unknown:
        raise EvaluationError(f"events without keywords in events.json: {', '.join(unknown)}")
    return rows, keywords


def surge_onset(times: Sequence[datetime]) -> datetime | None:
    """The start of the first hour at 10 % of the peak hour and 3 posts (None: no surge)."""
    hours = Counter(t.replace(minute=0, second=0, microsecond=0) for t in times)
    needed = max(ONSET_SHARE * max(hours.values(), default=0), ONSET_MIN)
    return min((hour for hour, count in hours.items() if count >= needed), default=None)


class EwmaBaseline(Detector):
    """The baseline to beat: Twitinfo's detector (Marcus et al., CHI 2011) on 10-minute bins,
    an EWMA of the bin counts and of their mean deviation (alpha = 0.125, as TCP's RTT
    estimator, which Twitinfo follows) and an alarm while the current bin exceeds the mean by
    more than two mean deviations. Not registered: it only serves as the evaluation's yardstick.
    """

    name = "burst"  # signals fold into alerts like the burst detector's
    BIN = 600  # seconds
    ALPHA = 0.125
    TAU = 2.0

    def __init__(self) -> None:
        self.state: dict[int, list[float]] = {}  # monitor -> [bin, count, mean, meandev]

    def observe(self, post: Post, monitors: Mapping[int, Rule]) -> list[Signal]:
        signals = []
        current = post.created_at.timestamp() // self.BIN
        for monitor_id in monitors:
            state = self.state.get(monitor_id)
            if state is None:
                state = self.state[monitor_id] = [current, 0.0, -1.0, 0.0]
            bin_, count, mean, dev = state
            if current > bin_:
                for passed in range(min(int(current - bin_), 1000)):
                    closed = count if passed == 0 else 0.0
                    if mean < 0:  # the first bin starts the mean
                        mean, dev = closed, closed / 2
                    else:
                        dev += self.ALPHA * (abs(closed - mean) - dev)
                        mean += self.ALPHA * (closed - mean)
                bin_, count = current, 0.0
            count += 1
            state[:] = [bin_, count, mean, dev]
            if mean >= 0 and count > mean + self.TAU * max(dev, 1e-9) + 1e-9:
                start = datetime.fromtimestamp(bin_ * self.BIN, UTC)
                signals.append(
                    Signal(
                        monitor_id=monitor_id,
                        detector=self.name,
                        at=post.created_at,
                        started_at=start,
                        observed=count,
                        expected=round(mean, 3),
                        summary=f"{count:.0f} posts in 10 min, {mean:.1f} expected (EWMA)",
                    )
                )
        return signals

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def restore(self, data: bytes) -> None:
        self.state = msgspec.msgpack.decode(data, type=dict[int, list[float]])


def evaluate_bursts(
    path: Path, sensitivity: float = SENSITIVITY, *, baseline: bool = False
) -> BurstReport:
    rows, keywords = read_events(path)
    if not rows:
        raise EvaluationError(f"{path} holds no posts")
    names = sorted({event for event, _ in rows})
    results = {
        name: EventResult(
            event=name,
            posts=sum(1 for event, _ in rows if event == name),
            matched=0,
            onset=surge_onset([post.created_at for event, post in rows if event == name]),
        )
        for name in names
    }
    monitors = {i: keyword_query(keywords[name]) for i, name in enumerate(names, start=1)}
    event_of_monitor = dict(enumerate(names, start=1))
    event_of_post: dict[str, str] = {}
    # matched posts per monitor over the last hours: who raised an alert
    recent: dict[int, deque[tuple[datetime, str]]] = {i: deque() for i in monitors}
    horizon = timedelta(hours=2)

    def on_post(post: Post, matched: list[int]) -> None:
        event = event_of_post.get(post.id, "")
        for monitor_id in matched:
            window = recent[monitor_id]
            window.append((post.created_at, event))
            while window and window[0][0] < post.created_at - horizon:
                window.popleft()
            if event == event_of_monitor[monitor_id]:
                results[event].matched += 1

    def on_signal(kind: str, alert: Alert, signal: Signal, post: Post) -> None:
        if kind != "opened":
            return
        result = results[event_of_monitor[alert.monitor_id]]
        result.alerts += 1
        raisers = Counter(event for at, event in recent[alert.monitor_id] if at >= alert.started_at)
        own = raisers.get(result.event, 0)
        if (
            result.onset is None
            or alert.opened_at < result.onset - EARLY
            or own * 2 <= sum(raisers.values())
        ):
            result.false_alerts += 1
        elif result.first is None:
            result.first = alert.opened_at

    with Replay(
        monitors,
        detectors=(EwmaBaseline(),) if baseline else ("burst",),
        sensitivity=sensitivity,
        on_signal=on_signal,
        on_post=on_post,
    ) as replay:
        keyed = replay.door.get("pseudonymise")
        post_id = getattr(keyed, "post_id")  # noqa: B009 - the door's own keyed-id function
        for event, post in rows:
            event_of_post[post_id(post.id)] = event
        replay.run(post for _, post in rows)
        seen = replay.posts
    span = rows[-1][1].created_at - rows[0][1].created_at
    return BurstReport(
        events=list(results.values()),
        days=span.total_seconds() / 86400,
        posts=seen,
        sensitivity=sensitivity,
        baseline=baseline,
    )


def format_bursts(report: BurstReport) -> str:
    lines = [
        f"{'event':<28} {'posts':>6} {'matched':>7} {'onset (UTC)':<17} "
        f"{'delay_h':>8} {'alerts':>6} {'false':>5}"
    ]
    for e in report.events:
        delay = "missed" if e.delay_h is None else f"{e.delay_h:.2f}"
        onset = "no surge" if e.onset is None else f"{e.onset:%Y-%m-%d %H:%M}"
        split = "*" if e.event in TUNE else " "
        lines.append(
            f"{e.event:<27}{split} {e.posts:>6} {e.matched:>7} "
            f"{onset:<16} {delay:>8} {e.alerts:>6} {e.false_alerts:>5}"
        )
    lines.append(f"(* = tuning event; {report.days:.1f} days replayed, {report.posts} posts)")
    test = [e.event for e in report.events if e.event not in TUNE]
    lines.append("tune: " + json.dumps(report.summary(TUNE)))
    lines.append("test: " + json.dumps(report.summary(test)))
    last = report.summary()
    if report.baseline:
        last["detector"] = "ewma-baseline"
    else:
        last["sensitivity"] = report.sensitivity
    lines.append(json.dumps(last))
    return "\n".join(lines)
