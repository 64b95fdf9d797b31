"""The small interface every source implements.

A source is an async iterator of `SourceItem`s (posts, deletions and checkpoints). It is given
the cursors it emitted before (as stored by the writer in the same transaction as the posts), so
that after a disconnect or restart it resumes where it stopped: nothing missed, nothing doubled
(the store ignores a post id it already has).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from stadspuls.records import SourceItem

log = logging.getLogger(__name__)


class MappingError(ValueError):
    """A raw payload could not be mapped: a required field is missing or malformed."""


@dataclass
class SourceStats:
    received: int = 0  # raw payloads (frames, items, lines) seen
    posts: int = 0
    deletions: int = 0
    malformed: int = 0  # payloads that could not be decoded or mapped (logged and skipped)
    skipped: int = 0  # well-formed payloads that are not posts or are filtered out
    reconnects: int = 0
    last_error: str | None = None
    extra: dict[str, int] = field(default_factory=dict)

    def malformed_payload(self, source: str, error: Exception, raw: object) -> None:
        self.malformed += 1
        self.last_error = f"{type(error).__name__}: {error}"
        preview = repr(raw)[:200]
        log.warning("%s: skipped malformed payload (%s): %s", source, self.last_error, preview)


@runtime_checkable
class Source(Protocol):
    name: str
    stats: SourceStats

    def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        """Yield items forever (live sources) or until exhausted (files), resuming at `cursors`."""
        ...
