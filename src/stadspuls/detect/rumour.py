"""Rumour candidate: a story (the story clustering of `clustering.py`, with its own state) whose
posts look unverified and that spreads fast.

Each post brings rumour evidence: the door's calibrated rumour likelihood (`post.rumour_score`)
or, when it passes on or denies a claim in words (`cues.py`), full evidence. A story is a rumour
candidate when the mean evidence of its posts reaches `MIN_EVIDENCE` and at least the threshold
of distinct authors posted in it within the last hour (`WINDOW`); it signals again each time
another author joins while both hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from stadspuls.detect.base import Detector, Rule
from stadspuls.detect.clustering import StoryClusterer, StoryState
from stadspuls.detect.content_terms import post_terms
from stadspuls.detect.cues import has_cue
from stadspuls.detect.story import author_threshold, story_signal
from stadspuls.records import Post, Signal

WINDOW = timedelta(hours=1)
# Fewer authors than a new story needs: a rumour must be countered while it is small.
MIN_AUTHORS = 4
# The rumour model is calibrated: a mean P(rumour) above one half says "more likely than not".
MIN_EVIDENCE = 0.5
CUE_EVIDENCE = 1.0


def evidence(post: Post) -> float:
    score = post.rumour_score or 0.0
    return CUE_EVIDENCE if score < CUE_EVIDENCE and has_cue(post.text) else score


class RumourDetector(Detector):
    name = "rumour"

    def __init__(self) -> None:
        self.clusterer = StoryClusterer(WINDOW, track_changes=False)

    def observe(self, post: Post, monitors: Mapping[int, Rule]) -> list[Signal]:
        if not monitors:
            return []
        terms = post_terms(post.text)
        weight = evidence(post)
        signals = []
        for monitor_id, rule in monitors.items():
            story = self.clusterer.add(monitor_id, post, terms)
            story.marks += weight
            signal = self._signal(monitor_id, rule, story, post)
            if signal is not None:
                signals.append(signal)
        return signals

    def _signal(self, monitor_id: int, rule: Rule, story: StoryState, post: Post) -> Signal | None:
        if not self.clusterer.warm(monitor_id):
            return None
        recent = story.recent_authors()
        threshold = author_threshold(MIN_AUTHORS, rule)
        if recent < threshold:
            return None
        rumourness = story.marks / story.posts
        if rumourness < MIN_EVIDENCE:
            return None
        if story.recent_counts.get(post.author_key or post.source) != 1:
            return None
        terms = story.top_terms()
        return story_signal(
            self.name,
            monitor_id,
            story,
            post,
            threshold=threshold,
            summary=(
                f"Possible rumour: {recent} authors in 1 h, rumour evidence "
                f"{rumourness:.2f}, {story.posts} posts: {', '.join(terms[:3])}"
            ),
            details={"rumour_evidence": round(rumourness, 3), "posts": float(story.posts)},
        )

    def forget(self, monitor_id: int) -> None:
        self.clusterer.forget(monitor_id)

    def snapshot(self) -> bytes:
        return self.clusterer.snapshot()

    def restore(self, data: bytes) -> None:
        self.clusterer.restore(data)
