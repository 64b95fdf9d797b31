"""P2000 trigger: an official pager message opens a watch on social media at its place, and
posts that follow about an incident there raise the alarm (the fusion Twitcident made of P2000
and Twitter, Terpstra et al., ISCRAM 2012).

A P2000 message (`post.source == "p2000"`) of one of the rule's priorities (`params
["priorities"]`, default P1 and A1: the most urgent fire/police and ambulance calls, the top
priorities in the real logs of ../shared/data/p2000) with a recognised place (`post.places`,
which the P2000 source fills from the message's place) opens a watch of `params["watch_hours"]`
(default 6) for the monitor at that municipality. A later message for the same monitor and place
extends the open watch rather than opening a second: on New Year's Eve one city sends dozens.
Posts from other sources that name the place and speak of an incident (the door's incident type,
or an incident word of `INCIDENT_WORDS`) count towards it by distinct author, whether or not they
match the monitor; at the threshold (2, scaled by the rule's sensitivity) and at each further
author it signals, keyed by the pager message's id, with the pager message first in `post_ids`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta

import msgspec

from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.content_terms import post_terms
from stadspuls.detect.story import severity
from stadspuls.query.text import fold, tokens
from stadspuls.records import Post, Signal
from stadspuls.store.rows import from_us, to_us

SOURCE = "p2000"
DEFAULT_PRIORITIES = ("P1", "A1")
DEFAULT_WATCH = timedelta(hours=6)
# Two independent witnesses after a pager message is already more than chance at one place.
MIN_AUTHORS = 2
MAX_WATCHES = 5000  # all monitors together; the oldest go first when there are more
MAX_POSTS = 4  # social posts kept per watch: with the pager message, the 5 of a signal
NO_INCIDENT = (None, "none")

# Words (folded) that say something happened, in Dutch and English; Dutch compounds ending in
# one of INCIDENT_SUFFIXES ("woningbrand", "autobrand") count too.
_INCIDENT_WORDS_TEXT = """
    brand brandje brandweer rook rookwolk rookwolken rookontwikkeling vlammen vuur
    explosie ontploffing knal
    ongeluk ongeval aanrijding botsing gewond gewonden gewonde slachtoffer slachtoffers
    ambulance ambulances politie traumaheli traumahelikopter sirene sirenes evacuatie
    geevacueerd schietpartij steekpartij instorting ingestort gaslek stroomstoring
    overstroming wateroverlast noodweer rellen
    fire fires smoke flames blaze explosion blast accident crash collision injured injuries
    victims casualties ambulance police firefighters sirens evacuated evacuation shooting
    stabbing collapse collapsed leak outage flood flooding riot
    """
INCIDENT_WORDS = frozenset(_INCIDENT_WORDS_TEXT.split())
INCIDENT_SUFFIXES = ("brand", "ongeluk", "explosie")


class Watch(msgspec.Struct, kw_only=True):
    monitor_id: int
    message_id: str
    opened_us: int
    until_us: int
    threshold: int
    place: str
    priority: str
    terms: list[str]
    authors: list[str] = msgspec.field(default_factory=list)
    post_ids: list[str] = msgspec.field(default_factory=list)
    messages: int = 1


class State(msgspec.Struct, kw_only=True):
    watches: dict[str, list[Watch]] = msgspec.field(default_factory=dict)  # place code -> …
    count: int = 0


def speaks_of_incident(post: Post) -> bool:
    if post.incident_type not in NO_INCIDENT:
        return True
    for token in tokens(fold(post.text)):
        if token in INCIDENT_WORDS or token.endswith(INCIDENT_SUFFIXES):
            return True
    return False


def priorities(rule: Rule) -> frozenset[str]:
    value = rule.params.get("priorities", list(DEFAULT_PRIORITIES))
    if isinstance(value, float):
        raise ValueError(f"p2000 priorities must be a list like ['P1', 'A1'], not {value!r}")
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return frozenset("".join(item.split()).upper() for item in items if item.strip())


def watch_us(rule: Rule) -> int:
    hours = rule.params.get("watch_hours", DEFAULT_WATCH.total_seconds() / 3600)
    if not isinstance(hours, int | float) or hours <= 0:
        raise ValueError(f"p2000 watch_hours must be a positive number, not {hours!r}")
    return int(hours * 3600 * 1_000_000)


class P2000TriggerDetector(Detector):
    name = "p2000"

    def __init__(self) -> None:
        self.state = State()

    def observe(self, post: Post, monitors: Mapping[int, Rule]) -> list[Signal]:
        if post.source == SOURCE:
            if monitors and post.places and post.meta:
                self._open(post, monitors)
            return []
        if not post.places or not self.state.watches:
            return []
        watched = [w for p in post.places for w in self.state.watches.get(p.code, ())]
        if not watched or not speaks_of_incident(post):
            return []
        return self._follow(post, watched)

    def _open(self, post: Post, monitors: Mapping[int, Rule]) -> None:
        assert post.meta is not None
        priority = post.meta.get("priority")
        if not isinstance(priority, str):
            return
        now = to_us(post.created_at)
        for place in post.places:
            watches = self._live(place.code, now)
            for monitor_id, rule in monitors.items():
                if priority not in priorities(rule):
                    continue
                until = now + watch_us(rule)
                same = [w for w in watches if w.monitor_id == monitor_id]
                if same:
                    same[0].until_us = max(same[0].until_us, until)
                    same[0].messages += 1
                    continue
                sensitivity = rule.sensitivity if rule.sensitivity > 0 else 1.0
                watches.append(
                    Watch(
                        monitor_id=monitor_id,
                        message_id=post.id,
                        opened_us=now,
                        until_us=until,
                        threshold=max(1, math.ceil(MIN_AUTHORS / sensitivity - 1e-9)),
                        place=place.name,
                        priority=priority,
                        terms=post_terms(post.text)[:5],
                    )
                )
                self.state.count += 1
            if watches:
                self.state.watches[place.code] = watches
        if self.state.count > MAX_WATCHES:
            self._sweep(now)

    def _live(self, code: str, now: int) -> list[Watch]:
        """The watches at a place still open at `now` (the expired ones are dropped)."""
        watches = self.state.watches.pop(code, [])
        live = [w for w in watches if w.until_us >= now]
        self.state.count -= len(watches) - len(live)
        return live

    def _sweep(self, now: int) -> None:
        for code in list(self.state.watches):
            live = self._live(code, now)
            if live:
                self.state.watches[code] = live
        while self.state.count > MAX_WATCHES:
            code = min(self.state.watches, key=lambda c: self.state.watches[c][0].opened_us)
            watches = self.state.watches[code]
            del watches[0]
            self.state.count -= 1
            if not watches:
                del self.state.watches[code]

    def _follow(self, post: Post, watched: list[Watch]) -> list[Signal]:
        now = to_us(post.created_at)
        author = post.author_key or post.id
        signals = []
        for watch in watched:
            if not watch.opened_us <= now <= watch.until_us or author in watch.authors:
                continue
            watch.authors.append(author)
            if len(watch.post_ids) < MAX_POSTS:
                watch.post_ids.append(post.id)
            observed = len(watch.authors)
            if observed < watch.threshold:
                continue
            minutes = (now - watch.opened_us) / 60_000_000
            signals.append(
                Signal(
                    monitor_id=watch.monitor_id,
                    detector=self.name,
                    key=watch.message_id,
                    at=post.created_at,
                    started_at=from_us(watch.opened_us),
                    observed=float(observed),
                    expected=float(watch.threshold),
                    severity=severity(observed, watch.threshold),
                    summary=(
                        f"{observed} authors post about an incident in {watch.place} "
                        f"{minutes:.0f} min after a {watch.priority} pager message"
                    ),
                    top_terms=tuple(watch.terms),
                    top_places=(watch.place,),
                    post_ids=(watch.message_id, *watch.post_ids),
                    details={"pager_messages": float(watch.messages), "priority": watch.priority},
                )
            )
        return signals

    def forget(self, monitor_id: int) -> None:
        for code in list(self.state.watches):
            watches = self.state.watches[code]
            kept = [w for w in watches if w.monitor_id != monitor_id]
            self.state.count -= len(watches) - len(kept)
            if kept:
                self.state.watches[code] = kept
            else:
                del self.state.watches[code]

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def restore(self, data: bytes) -> None:
        self.state = msgspec.msgpack.decode(data, type=State)
