"""Media rows of cases, the perceptual hashes of media seen in monitored posts, and the custody
events (views, downloads, exports of originals) in the case's history."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from stadspuls.cases.records import AcceptedMedia, CaseEvent, MediaItem
from stadspuls.store.publications import media_hashes_in_use
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import case_events, cases, media, media_seen

CUSTODY_KINDS = ("media.view", "media.download", "media.export")


def _item(row: sa.RowMapping) -> MediaItem:
    return MediaItem(
        id=int(row["id"]),
        case_id=int(row["case_id"]),
        sha256=row["sha256"],
        size=int(row["size"]),
        content_type=row["content_type"],
        filename=row["filename"],
        width=row["width"],
        height=row["height"],
        taken_at=None if row["taken_us"] is None else from_us(row["taken_us"]),
        lat=row["lat"],
        lon=row["lon"],
        phash=row["phash"],
        c2pa=row["c2pa"],
        received_at=from_us(row["received_us"]),
        group_id=row["group_id"],
    )


def insert(
    conn: sa.Connection, case_id: int, accepted: AcceptedMedia, *, group_id: int | None = None
) -> int:
    """Insert one row; without `group_id` the row starts its own group."""
    result = conn.execute(
        media.insert().values(
            case_id=case_id,
            sha256=accepted.sha256,
            size=accepted.size,
            content_type=accepted.content_type,
            filename=accepted.filename[:300],
            width=accepted.width,
            height=accepted.height,
            taken_us=None if accepted.taken_at is None else to_us(accepted.taken_at),
            lat=accepted.lat,
            lon=accepted.lon,
            phash=accepted.phash,
            c2pa=accepted.c2pa,
            received_us=to_us(accepted.received_at),
            group_id=group_id,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    media_id = int(key[0])
    if group_id is None:
        set_group(conn, media_id, media_id)
    return media_id


def set_group(conn: sa.Connection, media_id: int, group_id: int) -> None:
    conn.execute(media.update().where(media.c.id == media_id).values(group_id=group_id))


def groups_of(conn: sa.Connection, media_ids: Sequence[int]) -> dict[int, int]:
    """The group of each of these rows that still exists (id -> group id)."""
    if not media_ids:
        return {}
    rows = conn.execute(
        sa.select(media.c.id, media.c.group_id).where(media.c.id.in_(list(media_ids)))
    )
    return {int(row.id): int(row.group_id or row.id) for row in rows}


def group_of_hash(conn: sa.Connection, sha256: str) -> int | None:
    """The group of the first row with this exact file, if any."""
    row = conn.execute(
        sa.select(media.c.id, media.c.group_id)
        .where(media.c.sha256 == sha256)
        .order_by(media.c.id)
        .limit(1)
    ).first()
    return None if row is None else int(row.group_id or row.id)


def get(conn: sa.Connection, media_id: int) -> MediaItem | None:
    row = conn.execute(sa.select(media).where(media.c.id == media_id)).mappings().first()
    return None if row is None else _item(row)


def for_case(conn: sa.Connection, case_id: int) -> list[MediaItem]:
    rows = conn.execute(
        sa.select(media).where(media.c.case_id == case_id).order_by(media.c.id)
    ).mappings()
    return [_item(row) for row in rows]


def hashes_in_use(conn: sa.Connection, hashes: Iterable[str]) -> set[str]:
    """Which of these vault files a case's media row or a publication's image names."""
    wanted = sorted(set(hashes))
    return media_hashes_in_use(conn, wanted) | case_hashes(conn, wanted)


def case_hashes(conn: sa.Connection, hashes: Iterable[str]) -> set[str]:
    """Which of these vault files belong to a citizen's report (a case's media row): they are
    never published nor shown as a publication's image."""
    wanted = sorted(set(hashes))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            conn.execute(
                sa.select(media.c.sha256).distinct().where(media.c.sha256.in_(chunk))
            ).scalars()
        )
    return found


@dataclass(frozen=True)
class Earlier:
    """Media received before one item, in other cases, that are the same or near."""

    count: int
    cases: int
    first_at: datetime | None
    first_case_id: int | None


def earlier_like(conn: sa.Connection, item: MediaItem) -> Earlier:
    """Earlier media of other cases in the item's group or with its exact hash."""
    same = media.c.sha256 == item.sha256
    if item.group_id is not None:
        same = sa.or_(same, media.c.group_id == item.group_id)
    where = sa.and_(same, media.c.id < item.id, media.c.case_id != item.case_id)
    row = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.distinct(media.c.case_id)),
            sa.func.min(media.c.received_us),
        ).where(where)
    ).one()
    first_case = None
    if row[0]:
        first_case = conn.execute(
            sa.select(media.c.case_id).where(where).order_by(media.c.id).limit(1)
        ).scalar()
    return Earlier(
        count=int(row[0]),
        cases=int(row[1]),
        first_at=None if row[2] is None else from_us(row[2]),
        first_case_id=None if first_case is None else int(first_case),
    )


def group_sizes(conn: sa.Connection, group_ids: Sequence[int]) -> dict[int, int]:
    """How many media rows each group holds (the count a collapsed group shows)."""
    if not group_ids:
        return {}
    rows = conn.execute(
        sa.select(media.c.group_id, sa.func.count())
        .where(media.c.group_id.in_(list(set(group_ids))))
        .group_by(media.c.group_id)
    )
    return {int(row[0]): int(row[1]) for row in rows}


# -- media seen in monitored posts ----------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    id: int
    post_pk: int
    source: str
    seen_at: datetime
    phash: str


def add_seen(
    conn: sa.Connection, *, post_pk: int, source: str, url_hash: str, phash: str, seen_at: datetime
) -> bool:
    """Record one image of a monitored post; False when it was recorded before."""
    exists = conn.execute(
        sa.select(media_seen.c.id).where(
            media_seen.c.post_pk == post_pk, media_seen.c.url_hash == url_hash
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        media_seen.insert().values(
            post_pk=post_pk, source=source, url_hash=url_hash, phash=phash, seen_us=to_us(seen_at)
        )
    )
    return True


def seen_by_ids(conn: sa.Connection, ids: Sequence[int]) -> list[Seen]:
    if not ids:
        return []
    rows = conn.execute(
        sa.select(media_seen).where(media_seen.c.id.in_(list(ids))).order_by(media_seen.c.seen_us)
    ).mappings()
    return [
        Seen(
            id=int(row["id"]),
            post_pk=int(row["post_pk"]),
            source=row["source"],
            seen_at=from_us(row["seen_us"]),
            phash=row["phash"],
        )
        for row in rows
    ]


def seen_hashes_of_url(conn: sa.Connection, url_hash: str) -> str | None:
    """The hash already computed for this URL (another post carried the same image link)."""
    return conn.execute(
        sa.select(media_seen.c.phash).where(media_seen.c.url_hash == url_hash).limit(1)
    ).scalar()


# -- custody: the case history of views, downloads and exports ------------------------------


def add_event(
    conn: sa.Connection,
    case_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    details: dict[str, str | int | float | bool | None],
) -> int:
    if kind not in CUSTODY_KINDS:
        raise ValueError(f"not a custody event: {kind!r}")
    result = conn.execute(
        case_events.insert().values(
            case_id=case_id,
            at_us=to_us(at),
            actor=actor,
            kind=kind,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def custody_events(conn: sa.Connection, case_id: int) -> list[CaseEvent]:
    rows = conn.execute(
        sa.select(case_events)
        .where(case_events.c.case_id == case_id, case_events.c.kind.in_(CUSTODY_KINDS))
        .order_by(case_events.c.id)
    ).mappings()
    return [
        CaseEvent(
            id=int(row["id"]),
            case_id=int(row["case_id"]),
            at=from_us(row["at_us"]),
            actor=row["actor"],
            kind=row["kind"],
            details=json.loads(row["details"]),
        )
        for row in rows
    ]


def viewed_since(
    conn: sa.Connection, case_id: int, *, actor: str, media_id: int, since: datetime
) -> bool:
    """Whether `actor` has a "media.view" of this item in the case's history since `since`."""
    rows = conn.execute(
        sa.select(case_events.c.details).where(
            case_events.c.case_id == case_id,
            case_events.c.kind == "media.view",
            case_events.c.actor == actor,
            case_events.c.at_us >= to_us(since),
        )
    ).scalars()
    return any(json.loads(details).get("media_id") == media_id for details in rows)


def case_exists(conn: sa.Connection, case_id: int) -> bool:
    return conn.execute(sa.select(cases.c.id).where(cases.c.id == case_id)).first() is not None
