"""Replay posts through the door, throw-away monitors and the detectors, folding the signals
into an in-memory `AlertBook`: what `stadspuls alerts backtest` and `eval bursts` run.

Nothing is stored: the door gets a pseudonymisation key made for this replay in a temporary
folder (so post ids and author keys are keyed as in production, but by a key nobody keeps), and
the monitors exist only in this process. Posts go through in time order, in batches, as a file
import would feed them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stadspuls.alerts.book import AlertBook
from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.registry import build
from stadspuls.enrich.door import Door, build_door
from stadspuls.query.matcher import MonitorMatcher
from stadspuls.records import Alert, Post, Signal
from stadspuls.settings import OptionalEnricher, Settings
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import iter_file

BATCH = 1000
# Enrichers each detector needs beyond the core door (normalise, pseudonymise, language, dedup).
NEEDS: dict[str, tuple[OptionalEnricher, ...]] = {
    "burst": ("places",),
    "negative": ("places", "sentiment"),
}
ALL_ENRICHERS: tuple[OptionalEnricher, ...] = ("places", "sentiment", "crisis")


def read_posts(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[Post], SourceStats]:
    """The posts of files any format `ingest` reads, in time order (deletions are dropped:
    a replay has nothing stored to delete)."""
    stats = SourceStats()
    posts = [
        item for path in paths for item in iter_file(path, stats=stats) if isinstance(item, Post)
    ]
    posts.sort(key=lambda post: post.created_at)
    return posts, stats


@dataclass
class Opened:
    """An alert as it was opened (later signals update the book's copy), and the signal."""

    alert: Alert
    signal: Signal


@dataclass
class Replay:
    """Door, matcher and detectors for a set of throw-away monitors; feed posts in time order."""

    queries: Mapping[int, str]
    detectors: Sequence[str | Detector] = ("burst",)
    sensitivity: float = 1.0
    enrichers: Sequence[OptionalEnricher] | None = None
    on_signal: Callable[[str, Alert, Signal, Post], None] | None = None
    on_post: Callable[[Post, list[int]], None] | None = None  # each post and its monitors
    book: AlertBook = field(default_factory=AlertBook)
    posts: int = 0
    opened: list[Opened] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="stadspuls-replay-")
        if self.enrichers is None:
            names = [d if isinstance(d, str) else d.name for d in self.detectors]
            wanted = {e for name in names for e in NEEDS.get(name, ALL_ENRICHERS)}
            self.enrichers = [e for e in ALL_ENRICHERS if e in wanted]
        settings = Settings(
            key_file=Path(self._folder.name) / "pseudonym.key",
            door_process=False,
            enrichers=list(self.enrichers),
            db_url="sqlite://",
        )
        self.door: Door = build_door(settings)
        pseudonymiser = self.door.get("pseudonymise")
        self.matcher = MonitorMatcher(
            dict(self.queries),
            pseudonymise=getattr(pseudonymiser, "pseudonym", None),
        )
        self._detectors: list[Detector] = [
            build(d) if isinstance(d, str) else d for d in self.detectors
        ]
        self._rules = {
            monitor_id: Rule(sensitivity=self.sensitivity) for monitor_id in self.queries
        }

    @property
    def folder(self) -> Path:
        """Where this replay's throw-away keys live (removed by `close`)."""
        return Path(self._folder.name)

    def close(self) -> None:
        self._folder.cleanup()

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feed(self, posts: Sequence[Post], *, enriched: bool = False) -> list[Post]:
        """Run one batch (in time order) through the door (unless `enriched`: posts the door
        already passed) and the detectors; returns the posts as the door left them."""
        if not enriched:
            posts = self.door(posts)
        for post in posts:
            self.posts += 1
            matched = self.matcher.match(post)
            if self.on_post is not None:
                self.on_post(post, matched)
            rules = {monitor_id: self._rules[monitor_id] for monitor_id in matched}
            for detector in self._detectors:
                for signal in detector.observe(post, rules):
                    kind, alert = self.book.add(signal)
                    if kind == "opened":
                        self.opened.append(Opened(alert, signal))
                    if self.on_signal is not None:
                        self.on_signal(kind, alert, signal, post)
        return list(posts)

    def run(self, posts: Iterable[Post]) -> Replay:
        for batch in _batches(posts):
            self.feed(batch)
        return self

    @property
    def alerts(self) -> list[Alert]:
        return self.book.alerts


def _batches(posts: Iterable[Post]) -> Iterator[list[Post]]:
    batch: list[Post] = []
    for post in posts:
        batch.append(post)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
