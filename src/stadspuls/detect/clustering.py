"""Streaming story clustering: each post joins the most similar recent story of its monitor or
starts a new one, in bounded time per post.

A post is a set of content terms (`content_terms.py`) weighted by their inverse document
frequency in the monitor's own stream, so the words every post of a monitor carries (its query
words) weigh nothing and the words that set one event apart weigh most. A story is the sum of
its posts' weighted term vectors; a post joins the story with the highest cosine similarity above
`THRESHOLD`. Candidates come from an inverted index (term -> the few stories that last used
it), in the spirit of first-story detection with bounded candidate lists (Petrović, Osborne &
Lavrenko, NAACL 2010): a post looks up at most `MAX_QUERY_TERMS` terms, each with at most
`MAX_PER_TERM` stories, and compares itself with at most `MAX_CANDIDATES` of them. A post the
door marked as a near duplicate or repost of a post the story already holds joins that story
without comparison.

Memory per monitor is bounded: `MAX_STORIES` live stories (the least recently updated go
first), stories expire after `EXPIRE` without a post, a story keeps its `MAX_STORY_TERMS`
heaviest terms, the document frequencies decay by half every `DF_HALF_LIFE` posts or when
their table passes `MAX_DF_TERMS`.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import sys
from collections.abc import Iterable
from datetime import timedelta

import msgspec

from stadspuls.enrich.incident import story_types
from stadspuls.records import Post, Story
from stadspuls.store.rows import from_us, to_us

# Cosine similarity to join a story: the loosest at which stories still hold one event (B-cubed
# precision >= 0.95) on half of the CrisisLexT26 dev events replayed at once (bench/stories.py;
# 0.945 on the other half).
THRESHOLD = 0.2
# One shared word (a hashtag everyone uses, a place) makes no story: short posts would otherwise
# join on it alone.
MIN_SHARED = 2
EXPIRE = timedelta(hours=12)
# Live stories per monitor. Most are one post that nothing joins; a monitor that starts more than
# this many within EXPIRE remembers less (at 500: the full 12 h up to ~0.7 new stories a minute,
# about a post a minute; a monitor at 10 posts/s remembers under a minute). About 3 kB a story:
# a busy monitor's clustering state is ~3.5 MB (bench: tracemalloc over CrisisLexT26).
MAX_STORIES = 500
MAX_STORY_TERMS = 64
MAX_QUERY_TERMS = 12
MAX_PER_TERM = 4
MAX_CANDIDATES = 8
MAX_AUTHORS = 512  # distinct authors counted exactly up to here; a story that big is no news
MAX_RECENT = 512  # (time, author) pairs kept for the distinct authors within the window
MAX_POST_IDS = 50
MAX_MEMBERS = 2048  # recent post id -> story, for the door's duplicate and repost marks
DF_HALF_LIFE = 2000
# The document-frequency table of a busy monitor is halved (and its words seen once dropped)
# when it holds more terms than this: ~0.5 MB a monitor at most.
MAX_DF_TERMS = 5000
# A term in more than this share of a monitor's recent posts describes the monitor (its query
# words, the template of a bot or a pager feed), not a story: it weighs nothing. A monitor's
# first WARM_UP posts teach it those words; its stories raise no signal before (`warm`).
MONITOR_WORD_SHARE = 0.8
WARM_UP = 20
# Pseudo-documents in which no term occurs: until a monitor has seen many posts, a term's weight
# stays near that of a rare word, so a story that fills a quiet monitor does not make its own
# words look common (and weightless) while it grows.
PRIOR_DOCS = 100.0
NO_INCIDENT = ("none",)


class StoryState(msgspec.Struct, kw_only=True):
    key: str
    first_us: int
    last_us: int
    posts: int = 0
    vector: dict[str, float] = msgspec.field(default_factory=dict)
    norm2: float = 0.0
    authors: dict[str, None] = msgspec.field(default_factory=dict)  # ordered, O(1) membership
    recent: list[tuple[int, str]] = msgspec.field(default_factory=list)
    recent_counts: dict[str, int] = msgspec.field(default_factory=dict)
    places: dict[str, int] = msgspec.field(default_factory=dict)
    incidents: dict[str, int] = msgspec.field(default_factory=dict)  # posts' first labels
    # Every label of every post (`Post.incident_labels`): a story about a derailed train that
    # burns collects derailment, explosion and fire. Default empty: old snapshots still load.
    incident_votes: dict[str, int] = msgspec.field(default_factory=dict)
    rumour_sum: float = 0.0
    rumour_n: int = 0
    # Evidence the owning detector adds per post (the rumour detector: cue and model evidence).
    marks: float = 0.0
    post_ids: list[str] = msgspec.field(default_factory=list)

    def recent_authors(self) -> int:
        return len(self.recent_counts)

    def recent_since_us(self) -> int:
        """When the window's posts began: the oldest post in it (a late post may be older than
        the first one it kept)."""
        return min((at for at, _ in self.recent), default=self.first_us)

    def top_terms(self, n: int = 5) -> tuple[str, ...]:
        return tuple(heapq.nlargest(n, self.vector, key=self.vector.__getitem__))

    def top_places(self, n: int = 5) -> tuple[str, ...]:
        return tuple(heapq.nlargest(n, self.places, key=self.places.__getitem__))

    def incident_types(self) -> tuple[str, ...]:
        """The story's incident types from its posts' labels, the primary hazard first."""
        return story_types(self.incidents, self.incident_votes or self.incidents)

    def incident_type(self) -> str | None:
        types = self.incident_types()
        return types[0] if types and types[0] not in NO_INCIDENT else None

    def record(self, monitor_id: int) -> Story:
        return Story(
            monitor_id=monitor_id,
            key=self.key,
            first_at=from_us(self.first_us),
            last_at=from_us(self.last_us),
            posts=self.posts,
            authors=len(self.authors),
            top_terms=self.top_terms(),
            places=self.top_places(),
            incident_type=self.incident_type(),
            incident_types=self.incident_types(),
            rumour_score=self.rumour_sum / self.rumour_n if self.rumour_n else None,
            post_ids=tuple(self.post_ids),
        )


class MonitorStories(msgspec.Struct, kw_only=True):
    # Ordered by last update, least recent first: expiry and eviction pop from the front.
    stories: dict[str, StoryState] = msgspec.field(default_factory=dict)
    index: dict[str, list[str]] = msgspec.field(default_factory=dict)
    df: dict[str, float] = msgspec.field(default_factory=dict)
    docs: float = 0.0
    members: dict[str, str] = msgspec.field(default_factory=dict)


class ClustererState(msgspec.Struct, kw_only=True):
    monitors: dict[int, MonitorStories] = msgspec.field(default_factory=dict)
    changed: list[tuple[int, str]] = msgspec.field(default_factory=list)


def _share_strings(mon: MonitorStories) -> None:
    """One object per term and per story key, as the live state has them (`post_terms` interns
    the terms, a story's key is the one object its index entries point to): decoding makes a
    new string for every occurrence, which held a third more memory after a restore."""
    intern = sys.intern
    for story in mon.stories.values():
        story.key = intern(story.key)
        story.vector = {intern(term): weight for term, weight in story.vector.items()}
    mon.stories = {story.key: story for story in mon.stories.values()}
    mon.index = {intern(term): [intern(key) for key in keys] for term, keys in mon.index.items()}
    mon.df = {intern(term): count for term, count in mon.df.items()}
    mon.members = {post_id: intern(key) for post_id, key in mon.members.items()}


def story_key(post_id: str) -> str:
    """A story is named after its first post: stable across restarts and replays."""
    return hashlib.blake2b(post_id.encode(), digest_size=8).hexdigest()


class StoryClusterer:
    """The stories of every monitor; `add` places one post and returns its story."""

    def __init__(self, window: timedelta, *, track_changes: bool = True) -> None:
        # Distinct authors are counted over this window before the newest post.
        self.track_changes = track_changes  # off for a detector that never reads `changed`
        self.window_us = int(window.total_seconds() * 1_000_000)
        self.expire_us = int(EXPIRE.total_seconds() * 1_000_000)
        self.state = ClustererState()
        self._changed: dict[tuple[int, str], None] = {}

    # -- the stream ---------------------------------------------------------------------------

    def add(self, monitor_id: int, post: Post, terms: list[str]) -> StoryState:
        mon = self.state.monitors.get(monitor_id)
        if mon is None:
            mon = self.state.monitors[monitor_id] = MonitorStories()
        now = to_us(post.created_at)
        self._expire(mon, now)
        weights = self._weights(mon, terms)
        story = self._joined(mon, post, weights)
        if story is None:
            story = StoryState(key=story_key(post.id), first_us=now, last_us=now)
            if story.key in mon.stories:  # the same post seen twice: it is that story's
                story = mon.stories[story.key]
        self._put(mon, story, post, weights, now)
        if self.track_changes:
            self._changed[(monitor_id, story.key)] = None
        return story

    def warm(self, monitor_id: int) -> bool:
        """Whether the monitor has seen enough posts to know its own words."""
        mon = self.state.monitors.get(monitor_id)
        return mon is not None and mon.docs >= WARM_UP

    def forget(self, monitor_id: int) -> None:
        self.state.monitors.pop(monitor_id, None)
        for where in [w for w in self._changed if w[0] == monitor_id]:
            del self._changed[where]

    def changed(self) -> list[Story]:
        """Stories created or changed since the last call (those since expired left out)."""
        out = []
        for monitor_id, key in self._changed:
            mon = self.state.monitors.get(monitor_id)
            story = mon.stories.get(key) if mon else None
            if story is not None:
                out.append(story.record(monitor_id))
        self._changed.clear()
        return out

    def snapshot(self) -> bytes:
        self.state.changed = list(self._changed)
        try:
            return msgspec.msgpack.encode(self.state)
        finally:
            self.state.changed = []

    def restore(self, data: bytes) -> None:
        self.state = msgspec.msgpack.decode(data, type=ClustererState)
        for mon in self.state.monitors.values():
            _share_strings(mon)
        self._changed = dict.fromkeys(self.state.changed)
        self.state.changed = []

    # -- inside ---------------------------------------------------------------------------------

    def _weights(self, mon: MonitorStories, terms: Iterable[str]) -> dict[str, float]:
        """The post's terms with their IDF weight in this monitor; the DF counts this post."""
        df = mon.df
        mon.docs += 1.0
        docs = mon.docs
        weights: dict[str, float] = {}
        cutoff = docs * MONITOR_WORD_SHARE if docs >= WARM_UP else math.inf
        for term in terms:
            count = df.get(term, 0.0) + 1.0
            df[term] = count
            if count <= cutoff:
                weights[term] = math.log((docs + PRIOR_DOCS) / (count + 0.5))
        if docs >= 2 * DF_HALF_LIFE or len(df) > MAX_DF_TERMS:
            # Halving keeps recent posts' terms and lets one-off words fall out of the table.
            mon.df = {t: c / 2 for t, c in df.items() if c > 1.0}
            mon.docs = docs / 2
        return weights

    def _joined(
        self, mon: MonitorStories, post: Post, weights: dict[str, float]
    ) -> StoryState | None:
        for earlier in (post.duplicate_of, post.repost_of):
            if earlier is not None:
                key = mon.members.get(earlier)
                if key is not None and key in mon.stories:
                    return mon.stories[key]
        if not weights:
            return None
        hits: dict[str, float] = {}
        query = (
            heapq.nlargest(MAX_QUERY_TERMS, weights, key=weights.__getitem__)
            if len(weights) > MAX_QUERY_TERMS
            else weights
        )
        index = mon.index
        for term in query:
            for key in index.get(term, ()):
                hits[key] = hits.get(key, 0.0) + weights[term]
        if not hits:
            return None
        if len(hits) > MAX_CANDIDATES:
            candidates = heapq.nlargest(MAX_CANDIDATES, hits, key=hits.__getitem__)
        else:
            candidates = list(hits)
        post_norm = math.sqrt(sum(w * w for w in weights.values()))
        best: StoryState | None = None
        best_score = THRESHOLD
        for key in candidates:
            story = mon.stories.get(key)
            if story is None or story.norm2 <= 0.0:
                continue
            vector = story.vector
            shared = [w * vector[t] for t, w in weights.items() if t in vector]
            if len(shared) < MIN_SHARED:
                continue
            dot = sum(shared)
            score = dot / (post_norm * math.sqrt(story.norm2))
            if score >= best_score:
                best, best_score = story, score
        return best

    def _put(
        self,
        mon: MonitorStories,
        story: StoryState,
        post: Post,
        weights: dict[str, float],
        now: int,
    ) -> None:
        stories = mon.stories
        stories.pop(story.key, None)
        stories[story.key] = story  # now the most recently updated
        story.posts += 1
        story.first_us = min(story.first_us, now)
        story.last_us = max(story.last_us, now)
        vector = story.vector
        index = mon.index
        norm2 = story.norm2
        for term, weight in weights.items():
            old = vector.get(term, 0.0)
            vector[term] = old + weight
            norm2 += 2 * old * weight + weight * weight
            keys = index.get(term)
            if keys is None:
                index[term] = [story.key]
            elif not keys or keys[-1] != story.key:
                if story.key in keys:
                    keys.remove(story.key)
                keys.append(story.key)
                if len(keys) > MAX_PER_TERM:
                    del keys[0]
        story.norm2 = norm2
        if len(vector) > MAX_STORY_TERMS * 3 // 2:
            self._trim_terms(mon, story)
        author = post.author_key or post.source
        if len(story.authors) < MAX_AUTHORS:
            story.authors[author] = None
        self._count_recent(story, author, now)
        for place in post.places:
            if place.name in story.places or len(story.places) < 20:
                story.places[place.name] = story.places.get(place.name, 0) + 1
        if post.incident_type is not None:
            story.incidents[post.incident_type] = story.incidents.get(post.incident_type, 0) + 1
        for label in post.incident_labels or ((post.incident_type,) if post.incident_type else ()):
            story.incident_votes[label] = story.incident_votes.get(label, 0) + 1
        if post.rumour_score is not None:
            story.rumour_sum += post.rumour_score
            story.rumour_n += 1
        if len(story.post_ids) < MAX_POST_IDS and post.id not in story.post_ids:
            story.post_ids.append(post.id)
        members = mon.members
        members[post.id] = story.key
        if len(members) > MAX_MEMBERS:
            del members[next(iter(members))]
        while len(stories) > MAX_STORIES:
            self._drop(mon, next(iter(stories)))

    def _count_recent(self, story: StoryState, author: str, now: int) -> None:
        recent, counts = story.recent, story.recent_counts
        recent.append((now, author))
        counts[author] = counts.get(author, 0) + 1
        start = now - self.window_us
        drop = 0
        while drop < len(recent) and (recent[drop][0] < start or len(recent) - drop > MAX_RECENT):
            _, gone = recent[drop]
            left = counts[gone] - 1
            if left:
                counts[gone] = left
            else:
                del counts[gone]
            drop += 1
        if drop:
            del recent[:drop]

    def _trim_terms(self, mon: MonitorStories, story: StoryState) -> None:
        vector = story.vector
        keep = set(heapq.nlargest(MAX_STORY_TERMS, vector, key=vector.__getitem__))
        for term in [t for t in vector if t not in keep]:
            del vector[term]
            self._unindex(mon, term, story.key)
        story.norm2 = sum(v * v for v in vector.values())

    def _unindex(self, mon: MonitorStories, term: str, key: str) -> None:
        keys = mon.index.get(term)
        if keys is not None and key in keys:
            keys.remove(key)
            if not keys:
                del mon.index[term]

    def _drop(self, mon: MonitorStories, key: str) -> None:
        story = mon.stories.pop(key)
        for term in story.vector:
            self._unindex(mon, term, key)

    def _expire(self, mon: MonitorStories, now: int) -> None:
        stories = mon.stories
        limit = now - self.expire_us
        while stories:
            oldest = next(iter(stories.values()))
            if oldest.last_us >= limit:
                break
            self._drop(mon, oldest.key)
