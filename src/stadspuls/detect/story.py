"""New story: a cluster of similar posts (`clustering.py`) that gathers enough distinct authors
within a short window while it is still new.

One author repeating themselves makes no story: the count is of distinct author pseudonyms
among the story's posts of the last `WINDOW`. The signal fires when that count reaches the
threshold and again each time a post raises it further (the alert layer folds these into one
alert); a story older than `NEW_FOR` is no longer news and raises nothing, and a monitor raises
nothing before it has seen `clustering.WARM_UP` posts: until then it cannot tell its own words (a
template every post repeats) from a story's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta

from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.clustering import StoryClusterer, StoryState
from stadspuls.detect.content_terms import post_terms
from stadspuls.records import Post, Signal, Story
from stadspuls.store.rows import from_us

WINDOW = timedelta(hours=2)
# Five distinct authors within two hours on one new subject is rare in a monitor's ordinary
# stream and still early for an event: a handful of first witnesses.
MIN_AUTHORS = 5
NEW_FOR = timedelta(hours=24)
_NEW_FOR_US = int(NEW_FOR.total_seconds() * 1_000_000)


def story_signal(
    detector: str,
    monitor_id: int,
    story: StoryState,
    post: Post,
    *,
    threshold: int,
    summary: str,
    details: dict[str, float | str],
) -> Signal:
    """The signal of a story that grew past `threshold` recent authors with `post`."""
    recent = story.recent_authors()
    return Signal(
        monitor_id=monitor_id,
        detector=detector,
        key=story.key,
        at=post.created_at,
        started_at=from_us(story.recent_since_us()),
        observed=float(recent),
        expected=float(threshold),
        severity=severity(recent, threshold),
        summary=summary,
        top_terms=story.top_terms(),
        top_places=story.top_places(3),
        post_ids=representative(story, post),
        details=details,
    )


def author_threshold(base: int, rule: Rule) -> int:
    """`base` scaled by the rule's sensitivity (higher sensitivity, fewer authors); never < 2."""
    sensitivity = rule.sensitivity if rule.sensitivity > 0 else 1.0
    return max(2, math.ceil(base / sensitivity - 1e-9))


def severity(observed: float, threshold: float) -> str:
    if observed >= 4 * threshold:
        return "high"
    return "medium" if observed >= 2 * threshold else "low"


def representative(story: StoryState, post: Post) -> tuple[str, ...]:
    """Up to five post ids: the story's first four and the one that raised the signal."""
    ids = [i for i in story.post_ids[:4] if i != post.id]
    return (*ids[:4], post.id)


class StoryDetector(Detector):
    name = "story"

    def __init__(self) -> None:
        self.clusterer = StoryClusterer(WINDOW)

    def observe(self, post: Post, monitors: Mapping[int, Rule]) -> list[Signal]:
        if not monitors:
            return []
        terms = post_terms(post.text)
        signals = []
        for monitor_id, rule in monitors.items():
            story = self.clusterer.add(monitor_id, post, terms)
            signal = self._signal(monitor_id, rule, story, post)
            if signal is not None:
                signals.append(signal)
        return signals

    def _signal(self, monitor_id: int, rule: Rule, story: StoryState, post: Post) -> Signal | None:
        if not self.clusterer.warm(monitor_id):
            return None
        recent = story.recent_authors()
        threshold = author_threshold(MIN_AUTHORS, rule)
        if recent < threshold or story.last_us - story.first_us > _NEW_FOR_US:
            return None
        author = post.author_key or post.source
        if story.recent_counts.get(author) != 1:  # not a new author in the window: no growth
            return None
        terms = story.top_terms()
        return story_signal(
            self.name,
            monitor_id,
            story,
            post,
            threshold=threshold,
            summary=(
                f"New story: {recent} authors in {WINDOW.total_seconds() / 3600:g} h "
                f"(threshold {threshold}), {story.posts} posts: {', '.join(terms[:3])}"
            ),
            details={"posts": float(story.posts), "authors_total": float(len(story.authors))},
        )

    def stories(self) -> list[Story]:
        return self.clusterer.changed()

    def forget(self, monitor_id: int) -> None:
        self.clusterer.forget(monitor_id)

    def snapshot(self) -> bytes:
        return self.clusterer.snapshot()

    def restore(self, data: bytes) -> None:
        self.clusterer.restore(data)
