"""The syntax tree of a monitor query: frozen dataclasses, folded values, no behaviour.

The parser builds it, the matcher evaluates it on posts, the translation turns it into archive
search. Every string in it is already folded (see `stadspuls.query.text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "All",
    "And",
    "Filter",
    "Has",
    "Lang",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "PlaceFilter",
    "Query",
    "SourceFilter",
    "Tag",
    "Term",
]


@dataclass(frozen=True, slots=True)
class Phrase:
    """A word or a quoted phrase: consecutive tokens; `prefix` makes the last one a prefix.

    A bare word that folds to several tokens ("wi-fi", "covid-19") is a phrase of them.
    """

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Tag:
    """`#hashtag` or `@mention`.

    Matches where the tag's tokens occur as a phrase in the text and either the first one is
    directly preceded by the sigil ('#' or '@') or `value` is among the post's hashtags
    (mentions), compared folded and without sigil. A tag that is only in the metadata and not in
    the text does not match: the archive can then narrow on the tokens, like the matcher.
    For mentions `value` is the pseudonym once the query is compiled.
    """

    kind: Literal["hashtag", "mention"]
    value: str
    tokens: tuple[str, ...]
    written: str = field(default="", compare=False)  # as typed, without sigil

    @property
    def sigil(self) -> str:
        return "#" if self.kind == "hashtag" else "@"


Term = Phrase | Tag


@dataclass(frozen=True, slots=True)
class Near:
    """`left NEAR/n right`: occurrences at most `distance` tokens apart, in either order.

    The gap is counted as SQLite FTS5 counts it: from the end of the occurrence that starts
    first to the start of the other (so overlapping occurrences are near at any distance).
    Each side is a term or an OR of terms.
    """

    left: Node
    right: Node
    distance: int


@dataclass(frozen=True, slots=True)
class Lang:
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceFilter:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlaceFilter:
    """`place:Groningen`: a recognised place (municipality or matched name), or, for a post
    without recognised places, the name as a phrase in the text."""

    name: str
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Has:
    feature: Literal["media", "link"]


Filter = Lang | SourceFilter | PlaceFilter | Has


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class All:
    """The empty query: every post."""


Node = Phrase | Tag | Near | Lang | SourceFilter | PlaceFilter | Has | And | Or | Not | All


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: its source text and its tree. `pseudonymised` once its @mentions hold
    pseudonyms (`resolve_mentions`), so they are never pseudonymised twice."""

    text: str
    root: Node
    pseudonymised: bool = False
