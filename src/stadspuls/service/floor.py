"""The viewer's privacy floor: no number shown to an actor without permission "posts" may rest on
fewer than `MIN_AUTHORS` distinct authors.

The rollup cells store the distinct authors of each cell. A number over several cells (a day of
hours, a week of days) has bounds: at least the largest cell's authors, at most their sum. Below
the floor's bounds it is withheld, above them shown; in between the authors are counted exactly
from the posts of that monitor and range (rare: only small numbers fall there). An empty cell
rests on nobody and says nothing about anyone: zero is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from stadspuls.access.roles import MIN_AUTHORS, allows
from stadspuls.records import Actor


class Span:
    """Counts over a union of cells, with the bounds of its distinct authors."""

    __slots__ = ("last_us", "lower", "negative", "neutral", "positive", "posts", "upper")

    def __init__(self) -> None:
        self.posts = self.negative = self.neutral = self.positive = 0
        self.lower = self.upper = self.last_us = 0

    def add(
        self,
        posts: int,
        authors: int,
        negative: int = 0,
        neutral: int = 0,
        positive: int = 0,
        last_us: int = 0,
    ) -> None:
        self.posts += posts
        self.negative += negative
        self.neutral += neutral
        self.positive += positive
        self.lower = max(self.lower, authors)
        self.upper += authors
        self.last_us = max(self.last_us, last_us)

    @property
    def exact(self) -> int | None:
        """The distinct authors where the bounds meet (one cell, or none)."""
        return self.lower if self.lower == self.upper else None

    @property
    def sentiment_share(self) -> float | None:
        """The negative share of the posts with a sentiment."""
        judged = self.negative + self.neutral + self.positive
        return self.negative / judged if judged else None


class Floor:
    """Whether a number may be shown to one actor; counts what it withholds."""

    def __init__(self, actor: Actor) -> None:
        self.open = allows(actor, "posts")
        self.suppressed = 0

    def undecided(self, span: Span) -> bool:
        """Only an exact count can tell (the bounds straddle the floor)."""
        return not self.open and span.posts > 0 and span.lower < MIN_AUTHORS <= span.upper

    def shows(self, span: Span, exact: Callable[[], int] | None = None) -> bool:
        """Whether `span` may be shown; `exact` counts its distinct authors when the bounds do
        not decide (without it, undecided is withheld). Withheld spans are counted."""
        if self.open or span.posts == 0 or span.lower >= MIN_AUTHORS:
            return True
        if span.upper >= MIN_AUTHORS and exact is not None and exact() >= MIN_AUTHORS:
            return True
        self.suppressed += 1
        return False

    def shows_authors(self, authors: int) -> bool:
        """For a number whose distinct authors are known exactly (terms, stories)."""
        if self.open or authors >= MIN_AUTHORS:
            return True
        self.suppressed += 1
        return False
