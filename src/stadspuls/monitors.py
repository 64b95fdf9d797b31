"""Monitors at work: validation, creation with backfill, re-matching on edit, and the live
linker that attaches every arriving post to the monitors it matches.

A monitor's effective query is its query limited to its places, if any. The live linker is a
consumer of stored posts (stadspuls.consumers): its cursor moves in the transaction of the links
it writes, so a crash between storing posts and linking them loses no links and doubles none.
Backfill uses the archive search, whose answers equal the streaming matcher's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import msgspec
import sqlalchemy as sa

from stadspuls import rollups
from stadspuls.query.matcher import MonitorMatcher, compile_query
from stadspuls.query.parser import Pseudonymise, QuerySyntaxError, parse
from stadspuls.records import LEGAL_BASES, Monitor, Post
from stadspuls.store import monitors as store
from stadspuls.store.rows import to_us
from stadspuls.store.search import iter_posts

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
BACKFILL_PAGE = 2000


class MonitorError(ValueError):
    """A monitor that cannot be started as given (the message says why, for the user)."""


def effective_query(monitor: Monitor) -> str:
    if not monitor.places:
        return monitor.query
    places = " OR ".join('place:"{}"'.format(p.replace('"', "")) for p in monitor.places)
    return f"({monitor.query}) AND ({places})"


def validate(monitor: Monitor, pseudonymise: Pseudonymise | None = None) -> None:
    """Raise MonitorError or QuerySyntaxError (with its column) for a monitor that cannot run."""
    if not monitor.name.strip():
        raise MonitorError("a monitor needs a name")
    if not monitor.purpose.strip():
        raise MonitorError(
            "a monitor needs a purpose: say why this is watched (doelbinding), e.g. "
            "'crowd safety on Stratumseind during carnival'"
        )
    if monitor.legal_basis not in LEGAL_BASES:
        raise MonitorError(
            f"unknown legal basis {monitor.legal_basis!r}; choose one of {', '.join(LEGAL_BASES)}"
        )
    if not 1 <= monitor.retention_days <= 3650:
        raise MonitorError("retention must be between 1 and 3650 days")
    if not monitor.query.strip():
        raise MonitorError("a monitor needs a query")
    parse(monitor.query, pseudonymise=pseudonymise)  # errors point into the user's own text
    parse(effective_query(monitor), pseudonymise=pseudonymise)


def backfill(
    engine: sa.Engine,
    monitor: Monitor,
    *,
    pseudonymise: Pseudonymise | None = None,
    progress: Progress | None = None,
) -> int:
    """Link every stored post the monitor matches; returns the number of posts matched."""
    assert monitor.id is not None
    compiled = compile_query(effective_query(monitor), pseudonymise=pseudonymise)
    matched = 0
    page: list[str] = []
    for post in iter_posts(engine, compiled.query):
        page.append(post.id)
        if len(page) == BACKFILL_PAGE:
            matched += store.link_posts(engine, [(monitor.id, post_id) for post_id in page])
            page = []
            if progress:
                progress(matched)
    if page:
        matched += store.link_posts(engine, [(monitor.id, post_id) for post_id in page])
    if progress:
        progress(matched)
    return matched


def create(
    engine: sa.Engine,
    monitor: Monitor,
    *,
    pseudonymise: Pseudonymise | None = None,
    progress: Progress | None = None,
) -> tuple[Monitor, int]:
    validate(monitor, pseudonymise)
    saved = store.insert_monitor(engine, monitor)
    matched = backfill(engine, saved, pseudonymise=pseudonymise, progress=progress)
    rollups.rebuild(engine, saved.id)
    return saved, matched


def edit(
    engine: sa.Engine,
    monitor: Monitor,
    *,
    pseudonymise: Pseudonymise | None = None,
    progress: Progress | None = None,
) -> tuple[Monitor, int | None]:
    """Save changes; when the query or places changed, re-match the archive (returns the count)."""
    assert monitor.id is not None
    before = store.get_monitor(engine, monitor.id)
    if before is None:
        raise MonitorError(f"no monitor with id {monitor.id}")
    validate(monitor, pseudonymise)
    saved = store.update_monitor(engine, monitor)
    if effective_query(before) == effective_query(saved):
        return saved, None
    store.unlink_all(engine, monitor.id)
    matched = backfill(engine, saved, pseudonymise=pseudonymise, progress=progress)
    rollups.rebuild(engine, monitor.id)
    return saved, matched


class MonitorLinker:
    """The consumer "linker": links each stored post to the active monitors it matches.

    Stateless between chunks (the matcher is rebuilt from the monitors table when a monitor
    changes), so `load` has nothing to restore; its cursor lives in `consumers`.
    """

    name = "linker"
    upstream: str | None = None

    def __init__(self, engine: sa.Engine, *, pseudonymise: Pseudonymise | None = None) -> None:
        self.engine = engine
        self.pseudonymise = pseudonymise
        self._version: tuple[int, int] | None = None
        self._matcher: MonitorMatcher[int] = MonitorMatcher({})
        self.linked = 0

    def refresh(self) -> None:
        version = store.monitors_version(self.engine)
        if version == self._version:
            return
        queries = {}
        for monitor in store.list_monitors(self.engine, active_only=True):
            assert monitor.id is not None
            try:
                queries[monitor.id] = compile_query(
                    effective_query(monitor), pseudonymise=self.pseudonymise
                )
            except QuerySyntaxError:
                log.exception("monitor %r has a query that no longer parses", monitor.name)
        self._matcher = MonitorMatcher(queries)
        self._version = version

    def load(self, state: bytes | None) -> None:
        self._version = None  # a monitor may have changed while the linker was not running

    def consume(self, conn: sa.Connection, rows: Sequence[tuple[int, Post]]) -> bytes | None:
        self.refresh()
        posts = [post for _, post in rows]
        links = [
            (monitor_id, pk, to_us(post.created_at))
            for (pk, post), found in zip(rows, self._matcher.match_many(posts), strict=True)
            for monitor_id in found
        ]
        self.linked += store.insert_links(conn, links)
        return None


def replace(monitor: Monitor, **changes: object) -> Monitor:
    return msgspec.structs.replace(monitor, **changes)
