"""The streaming matcher: which of many monitors does a post match?

Every query is compiled once into a tree of closures. For a post the text is folded and
tokenised once; an Aho-Corasick automaton over all monitors' required keys runs over the tokens
joined by single spaces, with spaces around: " brand " (a word), " brand" (a prefix), " stratum
seind " (a phrase) hit only where that word, prefix or phrase really occurs (see
`required_keys`). The monitors hit are the candidates, and only those are evaluated, on a view
of the post that builds positions and metadata sets only when a monitor asks. Monitors that can
match without any text (a pure NOT, a pure filter, `place:` through recognised places) are
evaluated for every post.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

from stadspuls.query.ast import (
    All,
    And,
    Has,
    Lang,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    PlaceFilter,
    Query,
    SourceFilter,
    Tag,
)
from stadspuls.query.parser import Pseudonymise, parse, resolve_mentions
from stadspuls.query.text import fold, token_spans, tokens
from stadspuls.records import Post

__all__ = ["CompiledQuery", "MonitorMatcher", "PostView", "compile_query", "required_keys"]

K = TypeVar("K", bound=Hashable)
Predicate = Callable[["PostView"], bool]
Occurrences = Callable[["PostView"], list[tuple[int, int]]]  # (start token, length)


def _norm(value: str) -> str:
    return " ".join(tokens(fold(value)))


class PostView:
    """A post as the matcher sees it: folded once, tokenised and indexed only when asked."""

    __slots__ = (
        "_hashtags",
        "_joined",
        "_mentions",
        "_places",
        "_positions",
        "_set",
        "_spans",
        "_tokens",
        "post",
        "text",
    )

    def __init__(self, post: Post, folded: str | None = None) -> None:
        self.post = post
        self.text = fold(post.text) if folded is None else folded
        self._tokens: list[str] | None = None
        self._set: frozenset[str] | None = None
        self._positions: dict[str, list[int]] | None = None
        self._spans: list[tuple[int, int]] | None = None
        self._hashtags: frozenset[str] | None = None
        self._mentions: frozenset[str] | None = None
        self._places: frozenset[str] | None = None
        self._joined: str | None = None

    def joined(self) -> str:
        """The tokens between single spaces, with a space at each end: keys are looked up here,
        and " w " / " w" / " a b " occur in it exactly where the word / a word starting with
        w / the phrase occurs in the post."""
        if self._joined is None:
            self._joined = " " + " ".join(self.tokens()) + " "
        return self._joined

    def tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = tokens(self.text)
        return self._tokens

    def token_set(self) -> frozenset[str]:
        if self._set is None:
            self._set = frozenset(self.tokens())
        return self._set

    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            for i, token in enumerate(self.tokens()):
                positions.setdefault(token, []).append(i)
            self._positions = positions
        return self._positions

    def spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = token_spans(self.text)
        return self._spans

    def hashtags(self) -> frozenset[str]:
        if self._hashtags is None:
            self._hashtags = frozenset(fold(h).lstrip("#") for h in self.post.hashtags)
        return self._hashtags

    def mentions(self) -> frozenset[str]:
        if self._mentions is None:
            self._mentions = frozenset(fold(m).lstrip("@") for m in self.post.mentions)
        return self._mentions

    def places(self) -> frozenset[str]:
        if self._places is None:
            names = set()
            for place in self.post.places:
                names.add(_norm(place.municipality))
                names.add(_norm(place.name))
            self._places = frozenset(names)
        return self._places


# Occurrences of terms ----------------------------------------------------------------------------


def _phrase_starts(view: PostView, words: tuple[str, ...], prefix: bool, needle: str) -> list[int]:
    """Token positions where the phrase starts (the last word a prefix when `prefix`);
    `needle` is its key (see `_key`), a quick test that it occurs at all."""
    if needle not in view.joined():
        return []
    toks = view.tokens()
    last = len(words) - 1
    if prefix:
        stem = words[last]
        ends = [i for i, t in enumerate(toks) if t.startswith(stem)]
    else:
        ends = view.positions()[words[last]]
    if last == 0:
        return ends
    return [
        i - last
        for i in ends
        if i >= last and all(toks[i - last + k] == words[k] for k in range(last))
    ]


def _tag_starts(view: PostView, tag: Tag, needle: str) -> list[int]:
    starts = _phrase_starts(view, tag.tokens, False, needle)
    if not starts:
        return starts
    meta = view.hashtags() if tag.kind == "hashtag" else view.mentions()
    if tag.value in meta:
        return starts
    spans, text, sigil = view.spans(), view.text, tag.sigil
    return [i for i in starts if spans[i][0] > 0 and text[spans[i][0] - 1] == sigil]


def _occurrences(node: Node) -> Occurrences:
    if isinstance(node, Phrase):
        words, prefix, width, needle = node.tokens, node.prefix, len(node.tokens), _key(node)
        return lambda v: [(i, width) for i in _phrase_starts(v, words, prefix, needle)]
    if isinstance(node, Tag):
        tag, width, needle = node, len(node.tokens), _key(node)
        return lambda v: [(i, width) for i in _tag_starts(v, tag, needle)]
    if isinstance(node, Or):
        parts = [_occurrences(item) for item in node.items]
        return lambda v: [o for part in parts for o in part(v)]
    raise TypeError(f"not a NEAR operand: {node!r}")  # the parser rejects these


def near(left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int) -> bool:
    """FTS5's rule: the gap from the end of the earlier-starting occurrence to the start of the
    other is at most `distance` tokens (negative when they overlap).

    For each left occurrence only two right ones can be nearest: the first that starts at or
    after it, and, of those starting before it, the one that ends last. Sorting and a running
    maximum find both in O((n + m) log m); a long post with a word on every line made the
    pairwise test cost seconds (n * m pairs).
    """
    if not left or not right:
        return False
    ordered = sorted(right)
    starts = [rs for rs, _ in ordered]
    ends_by = list(itertools.accumulate((rs + rw for rs, rw in ordered), max))
    for ls, lw in left:
        at = bisect.bisect_left(starts, ls)
        if at < len(starts) and starts[at] - ls - lw <= distance:
            return True
        if at > 0 and ls - ends_by[at - 1] <= distance:
            return True
    return False


# Compilation ---------------------------------------------------------------------------------


def _cost(node: Node) -> int:
    """A rough evaluation cost, to test cheap conditions of an AND/OR first."""
    if isinstance(node, Lang | SourceFilter | Has | All):
        return 0
    if isinstance(node, Phrase):
        return 1 if len(node.tokens) == 1 and not node.prefix else 3
    if isinstance(node, Tag | PlaceFilter):
        return 4
    if isinstance(node, Near):
        return 10
    if isinstance(node, Not):
        return _cost(node.item)
    if isinstance(node, And | Or):
        return sum(_cost(item) for item in node.items)
    return 5  # pragma: no cover


def _compile(node: Node) -> Predicate:
    if isinstance(node, Phrase):
        words, prefix = node.tokens, node.prefix
        if len(words) == 1 and not prefix:
            word = words[0]
            return lambda v: word in v.token_set()
        needle = _key(node)
        return lambda v: needle in v.joined()
    if isinstance(node, Tag):
        tag, needle = node, _key(node)
        return lambda v: bool(_tag_starts(v, tag, needle))
    if isinstance(node, Near):
        left, right, distance = _occurrences(node.left), _occurrences(node.right), node.distance

        def is_near(v: PostView) -> bool:
            found = left(v)
            return bool(found) and near(found, right(v), distance)

        return is_near
    if isinstance(node, Lang):
        codes = frozenset(node.codes)
        return lambda v: v.post.lang is not None and v.post.lang.lower() in codes
    if isinstance(node, SourceFilter):
        names = frozenset(node.names)
        return lambda v: v.post.source in names
    if isinstance(node, Has):
        if node.feature == "media":
            return lambda v: bool(v.post.media)
        return lambda v: bool(v.post.links)
    if isinstance(node, PlaceFilter):
        name, needle = node.name, " " + node.name + " "
        return lambda v: name in v.places() if v.post.places else needle in v.joined()
    if isinstance(node, Not):
        inner = _compile(node.item)
        return lambda v: not inner(v)
    if isinstance(node, And):
        parts = [_compile(item) for item in sorted(node.items, key=_cost)]
        if len(parts) == 2:
            a, b = parts
            return lambda v: a(v) and b(v)

        def all_of(v: PostView) -> bool:
            return all(part(v) for part in parts)

        return all_of
    if isinstance(node, Or):
        parts = [_compile(item) for item in sorted(node.items, key=_cost)]
        if len(parts) == 2:
            a, b = parts
            return lambda v: a(v) or b(v)

        def any_of(v: PostView) -> bool:
            return any(part(v) for part in parts)

        return any_of
    if isinstance(node, All):
        return lambda v: True
    raise TypeError(f"unknown query node {node!r}")  # pragma: no cover


def _key(term: Phrase | Tag) -> str:
    prefix = isinstance(term, Phrase) and term.prefix
    return " " + " ".join(term.tokens) + ("" if prefix else " ")


def required_keys(node: Node) -> frozenset[str] | None:
    """Keys of which at least one occurs in `PostView.joined()` of every post the query matches;
    None when the query can match without any of its words (NOT, filters, places).

    A word or phrase gives itself between spaces, " stratum seind "; a prefix leaves the
    trailing space off, " brand"; a tag gives its words (the sigil is checked later)."""
    if isinstance(node, Phrase | Tag):
        return frozenset({_key(node)})
    if isinstance(node, Near):
        left, right = required_keys(node.left), required_keys(node.right)
        options = [keys for keys in (left, right) if keys is not None]
        return min(options, key=_selectivity) if options else None
    if isinstance(node, And):
        options = [keys for keys in map(required_keys, node.items) if keys is not None]
        return min(options, key=_selectivity) if options else None
    if isinstance(node, Or):
        union: set[str] = set()
        for item in node.items:
            keys = required_keys(item)
            if keys is None:
                return None
            union |= keys
        return frozenset(union)
    return None


def _selectivity(keys: frozenset[str]) -> tuple[int, int]:
    # Fewer and longer keys hit fewer posts.
    return (len(keys), -min(len(k) for k in keys))


@dataclass(frozen=True, eq=False)
class CompiledQuery:
    """A query ready to match posts; `keys` feed the Aho-Corasick pre-filter."""

    query: Query
    keys: frozenset[str] | None
    predicate: Predicate

    def matches(self, post: Post) -> bool:
        return self.predicate(PostView(post))


def compile_query(query: str | Query, *, pseudonymise: Pseudonymise | None = None) -> CompiledQuery:
    """Parse (when given text), resolve `@mentions` through `pseudonymise`, compile."""
    if isinstance(query, str):
        parsed = parse(query, pseudonymise=pseudonymise)
    elif pseudonymise is not None:
        parsed = resolve_mentions(query, pseudonymise)
    else:
        parsed = query
    return CompiledQuery(parsed, required_keys(parsed.root), _compile(parsed.root))


class MonitorMatcher(Generic[K]):
    """Many monitors at once: `match(post)` lists the ids of the monitors the post matches,
    in the order the monitors were given."""

    def __init__(
        self,
        queries: Mapping[K, CompiledQuery | Query | str],
        *,
        pseudonymise: Pseudonymise | None = None,
    ) -> None:
        self.ids: list[K] = list(queries)
        self.compiled: list[CompiledQuery] = [
            q if isinstance(q, CompiledQuery) else compile_query(q, pseudonymise=pseudonymise)
            for q in queries.values()
        ]
        self._predicates = [c.predicate for c in self.compiled]
        self._always = [i for i, c in enumerate(self.compiled) if c.keys is None]
        by_key: dict[str, list[int]] = {}
        for i, c in enumerate(self.compiled):
            for key in c.keys or ():
                by_key.setdefault(key, []).append(i)
        self._automaton: ahocorasick.Automaton | None = None
        if by_key:
            automaton = ahocorasick.Automaton()
            for key, monitors in by_key.items():
                automaton.add_word(key, tuple(monitors))
            automaton.make_automaton()
            self._automaton = automaton

    def __len__(self) -> int:
        return len(self.ids)

    def candidates(self, view: PostView) -> list[int]:
        """Indices of the monitors worth evaluating on this post, in monitor order."""
        if self._automaton is None:
            return self._always
        found: set[int] = set(self._always)
        for _, monitors in self._automaton.iter(view.joined()):
            found.update(monitors)
        return sorted(found)

    def match(self, post: Post) -> list[K]:
        view = PostView(post)
        predicates, ids = self._predicates, self.ids
        return [ids[i] for i in self.candidates(view) if predicates[i](view)]

    def match_many(self, posts: Iterable[Post]) -> list[list[K]]:
        """`match` for each post, in order."""
        return [self.match(post) for post in posts]
