"""The small interface every enricher implements.

An enricher takes a batch of posts and returns a batch of the same length and order, with its
own fields filled (records are frozen: it returns new ones with `msgspec.structs.replace`).
Working on batches lets vectorised models amortise their overhead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from stadspuls.records import Post


@runtime_checkable
class Enricher(Protocol):
    name: str

    def __call__(self, posts: Sequence[Post]) -> list[Post]: ...
