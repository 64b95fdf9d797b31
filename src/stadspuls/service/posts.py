"""Post texts: search and listing, single posts, the sealed link to the original. Each call
that returns texts writes one audit row ("posts.view") through the connection of the read."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.access.roles import check
from stadspuls.monitors import effective_query
from stadspuls.query.ast import And, Query
from stadspuls.query.parser import parse
from stadspuls.records import Actor, Post
from stadspuls.sealed import SealError
from stadspuls.service.errors import NotFound, ReasonRequired
from stadspuls.service.reidentify import Reidentification
from stadspuls.service.views import PostsPage, PostView
from stadspuls.store import monitors as monitor_store
from stadspuls.store import posts as store
from stadspuls.store.search import SearchTimeout, count_posts, search_posts


def post_view(post: Post) -> PostView:
    return PostView(
        id=post.id,
        source=post.source,
        created_at=post.created_at,
        text=post.text,
        author=post.author_key,
        lang=post.lang,
        sentiment=post.sentiment,
        incident_type=post.incident_type,
        places=tuple(dict.fromkeys(p.municipality for p in post.places)),
        hashtags=post.hashtags,
        has_link=post.url is not None,
    )


class PostReads(Reidentification):
    """Post texts (permission "posts")."""

    def posts(
        self,
        actor: Actor,
        *,
        query: str | None = None,
        monitor_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] | None = None,
        lang: str | None = None,
        place: str | None = None,
        limit: int = 50,
        offset: int = 0,
        reason: str | None = None,
    ) -> PostsPage:
        """Stored posts newest first: all, a monitor's, or those matching `query` (within the
        monitor's, with both). `place` is a CBS municipality code. `QuerySyntaxError` with its
        column, `SearchTimeout` past the server's search time limit."""
        total, found = self.post_records(
            actor, query=query, monitor_id=monitor_id, since=since, until=until,
            sources=sources, lang=lang, place=place, limit=limit, offset=offset, reason=reason,
        )  # fmt: skip
        return PostsPage(
            total=total, limit=limit, offset=offset, posts=tuple(post_view(p) for p in found)
        )

    def post_records(
        self,
        actor: Actor,
        *,
        query: str | None = None,
        monitor_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] | None = None,
        lang: str | None = None,
        place: str | None = None,
        limit: int = 50,
        offset: int = 0,
        reason: str | None = None,
    ) -> tuple[int, list[Post]]:
        """`posts` as the stored records (total, page), for the API's full post schema; the
        same rules and the same audit row. Their `url` stays sealed."""
        check(actor, "posts")
        text = query if query and query.strip() else None
        with self.engine.begin() as conn:
            monitor = None
            if monitor_id is not None:
                monitor = monitor_store.get_monitor(conn, monitor_id)
                if monitor is None:
                    raise NotFound(f"no monitor {monitor_id}")
            if text is not None:
                parsed = self.resolve_query(conn, actor, text, reason, monitor_id=monitor_id)
                if monitor is not None:
                    # The monitor's own query is resolved as its live linker resolves it.
                    within = parse(effective_query(monitor), pseudonymise=self.pseudonymise)
                    parsed = Query(text, And((within.root, parsed.root)), pseudonymised=True)
                total, found = self._search(
                    conn, parsed, since, until, sources, lang, place, limit, offset
                )
            elif monitor_id is not None:
                total, found = monitor_store.monitor_post_page(
                    conn,
                    monitor_id,
                    since=since,
                    until=until,
                    sources=sources,
                    lang=lang,
                    place=place,
                    limit=limit,
                    offset=offset,
                )
            else:
                found = store.list_posts(
                    conn, since=since, until=until, sources=sources, lang=lang, place=place,
                    limit=limit, offset=offset,
                )  # fmt: skip
                total = store.count_all(
                    conn, since=since, until=until, sources=sources, lang=lang, place=place
                )
            self.audit(
                conn, actor, "posts.view", monitor_id=monitor_id, query=text, posts=len(found)
            )
        return total, found

    def _search(
        self,
        conn: sa.Connection,
        query: Query,
        since: datetime | None,
        until: datetime | None,
        sources: Sequence[str] | None,
        lang: str | None,
        place: str | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[Post]]:
        """A page and its count under one time limit (the server's `search_timeout_s`)."""
        seconds = self.settings.search_timeout_s
        deadline = time.monotonic() + seconds
        found = search_posts(
            conn, query, since=since, until=until, sources=sources, lang=lang, place=place,
            limit=limit, offset=offset, timeout=seconds,
        )  # fmt: skip
        left = max(deadline - time.monotonic(), 0.001)  # one time limit for page and count
        try:
            total = count_posts(
                conn, query, since=since, until=until, sources=sources, lang=lang, place=place,
                timeout=left,
            )  # fmt: skip
        except SearchTimeout as error:
            raise SearchTimeout(seconds) from error
        return total, found

    def count(
        self,
        actor: Actor,
        *,
        query: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] | None = None,
        lang: str | None = None,
        place: str | None = None,
        reason: str | None = None,
    ) -> int:
        """How many stored posts match (all, without a query). Shows no text, so only a
        re-identification is audited; but a count over any query is no aggregate a viewer may
        see (it can rest on one author): "posts"."""
        check(actor, "posts")
        with self.engine.begin() as conn:
            if query and query.strip():
                parsed = self.resolve_query(conn, actor, query, reason)
                return count_posts(
                    conn, parsed, since=since, until=until, sources=sources, lang=lang,
                    place=place, timeout=self.settings.search_timeout_s,
                )  # fmt: skip
            return store.count_all(
                conn, since=since, until=until, sources=sources, lang=lang, place=place
            )

    def post(self, actor: Actor, post_id: str) -> PostView:
        return post_view(self.post_record(actor, post_id))

    def post_record(self, actor: Actor, post_id: str) -> Post:
        """One stored post (its `url` sealed), audited as `post` is."""
        check(actor, "posts")
        with self.engine.begin() as conn:
            found = store.get_post(conn, post_id)
            if found is None:
                raise NotFound(f"no post {post_id!r}")
            self.audit(conn, actor, "posts.view", posts=1, details={"post": post_id})
        return found

    def open_link(self, actor: Actor, post_id: str, reason: str | None) -> str:
        """The original's URL, unsealed: an analyst's stated reason is written to the audit log
        with it ("link.open"); the URL names or leads to the author."""
        check(actor, "posts")
        if reason is None or not reason.strip():
            raise ReasonRequired(
                "opening the original needs a reason; it is written to the audit log"
            )
        with self.engine.begin() as conn:
            found = store.get_post(conn, post_id)
            if found is None:
                raise NotFound(f"no post {post_id!r}")
            if found.url is None:
                raise NotFound(f"post {post_id!r} has no link to an original")
            try:
                url = self.sealer.open(found.url, found.id)
            except SealError as error:
                raise NotFound(f"the link of post {post_id!r} cannot be opened: {error}") from error
            self.audit(
                conn, actor, "link.open", posts=1, reason=reason.strip(), details={"post": post_id}
            )
        return url

    def check_query(self, actor: Actor, text: str) -> None:
        """Raise `QuerySyntaxError` (with its column) unless `text` parses; resolves nothing."""
        check(actor, "posts")
        parse(text)

    def volume(
        self,
        actor: Actor,
        *,
        bucket_seconds: int,
        monitor_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] | None = None,
        lang: str | None = None,
    ) -> list[tuple[datetime, int]]:
        """Post counts per time bucket, from the posts (or the monitor's links) themselves: not
        held to `MIN_AUTHORS`, so it needs "posts"; viewers read the pre-aggregated series."""
        check(actor, "posts")
        if monitor_id is None:
            return store.volume(
                self.engine,
                bucket_seconds=bucket_seconds,
                since=since,
                until=until,
                sources=sources,
                lang=lang,
            )
        if monitor_store.get_monitor(self.engine, monitor_id) is None:
            raise NotFound(f"no monitor {monitor_id}")
        return monitor_store.monitor_volume(
            self.engine, monitor_id, bucket_seconds=bucket_seconds, since=since, until=until
        )
