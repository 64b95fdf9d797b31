"""Publications, their append-only history, templates and crisis modes: rows <-> records.

The deliveries (the outbox) and the responses are in store/publication_deliveries.py. Times are
integer microseconds (UTC); lists and mappings are JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from stadspuls.publish.records import CrisisMode, MediaItem, Publication, PublicationEvent
from stadspuls.publish.records import PublishTemplate as Template
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import alerts, crisis_modes, monitors, publication_events, publications
from stadspuls.store.schema import publish_templates as templates_table

_media_decode = msgspec.json.Decoder(tuple[MediaItem, ...]).decode
_encode = msgspec.json.Encoder().encode


class TemplateExists(ValueError):
    """Another template has this name."""


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def _at(value: int | None) -> datetime | None:
    return None if value is None else from_us(int(value))


def _values(publication: Publication) -> dict[str, Any]:
    """The columns a save writes (everything but the id)."""
    return {
        "title": publication.title,
        "body": publication.body,
        "variants": json.dumps(publication.variants, ensure_ascii=False, sort_keys=True),
        "link": publication.link,
        "media": _encode(publication.media).decode(),
        "targets": json.dumps(list(publication.targets)),
        "lang": publication.lang,
        "state": publication.state,
        "monitor_id": publication.monitor_id,
        "alert_id": publication.alert_id,
        "template": publication.template,
        "scheduled_us": _us(publication.scheduled_at),
        "created_by": publication.created_by,
        "created_us": _us(publication.created_at),
        "updated_us": _us(publication.updated_at),
        "submitted_us": _us(publication.submitted_at),
        "approved_by": publication.approved_by,
        "approved_us": _us(publication.approved_at),
        "crisis": publication.crisis,
        "rejected_reason": publication.rejected_reason,
        "published_us": _us(publication.published_at),
        "slug": publication.slug,
    }


def _publication(row: Mapping[Any, Any]) -> Publication:
    return Publication(
        id=int(row["id"]),
        title=row["title"],
        body=row["body"],
        variants=json.loads(row["variants"] or "{}"),
        link=row["link"],
        media=_media_decode(row["media"] or "[]"),
        targets=tuple(json.loads(row["targets"] or "[]")),
        lang=row["lang"],
        state=row["state"],
        monitor_id=row["monitor_id"],
        alert_id=row["alert_id"],
        template=row["template"],
        scheduled_at=_at(row["scheduled_us"]),
        created_by=row["created_by"],
        created_at=_at(row["created_us"]),
        updated_at=_at(row["updated_us"]),
        submitted_at=_at(row["submitted_us"]),
        approved_by=row["approved_by"],
        approved_at=_at(row["approved_us"]),
        crisis=bool(row["crisis"]),
        rejected_reason=row["rejected_reason"],
        published_at=_at(row["published_us"]),
        slug=row["slug"],
    )


def insert(conn: sa.Connection, publication: Publication) -> Publication:
    result = conn.execute(publications.insert().values(**_values(publication)))
    key = result.inserted_primary_key
    assert key is not None
    return msgspec.structs.replace(publication, id=int(key[0]))


def update(
    conn: sa.Connection, publication: Publication, *, expect_state: str | None = None
) -> bool:
    """Write every column of `publication` (by id); with `expect_state` only while the row is
    still in that state (False: another change came first)."""
    assert publication.id is not None
    query = publications.update().where(publications.c.id == publication.id)
    if expect_state is not None:
        query = query.where(publications.c.state == expect_state)
    return bool(conn.execute(query.values(**_values(publication))).rowcount)


def get(conn: sa.Connection, publication_id: int) -> Publication | None:
    row = (
        conn.execute(sa.select(publications).where(publications.c.id == publication_id))
        .mappings()
        .first()
    )
    return None if row is None else _publication(row)


def recent(
    conn: sa.Connection,
    *,
    state: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Publication]:
    query = sa.select(publications).order_by(publications.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(publications.c.state == state)
    if before_id is not None:
        query = query.where(publications.c.id < before_id)
    return [_publication(row) for row in conn.execute(query).mappings()]


def due(conn: sa.Connection, now_us: int, *, limit: int = 100) -> list[Publication]:
    """Approved publications whose time has come (no schedule: at once), oldest first."""
    query = (
        sa.select(publications)
        .where(
            publications.c.state == "approved",
            sa.or_(publications.c.scheduled_us.is_(None), publications.c.scheduled_us <= now_us),
        )
        .order_by(publications.c.id)
        .limit(limit)
    )
    return [_publication(row) for row in conn.execute(query).mappings()]


def published_news(
    conn: sa.Connection, *, limit: int, before_id: int | None = None
) -> list[Publication]:
    """Published publications with the target "news", newest first."""
    query = (
        sa.select(publications)
        .where(publications.c.state == "published", publications.c.targets.contains('"news"'))
        .order_by(publications.c.published_us.desc(), publications.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(publications.c.id < before_id)
    return [
        found
        for found in (_publication(row) for row in conn.execute(query).mappings())
        if "news" in found.targets
    ]


def missing_refs(
    conn: sa.Connection, *, monitor_id: int | None, alert_id: int | None
) -> str | None:
    """ "monitor_id" or "alert_id" when it names nothing (None: both fine)."""
    if (
        monitor_id is not None
        and conn.execute(sa.select(monitors.c.id).where(monitors.c.id == monitor_id)).first()
        is None
    ):
        return "monitor_id"
    if (
        alert_id is not None
        and conn.execute(sa.select(alerts.c.id).where(alerts.c.id == alert_id)).first() is None
    ):
        return "alert_id"
    return None


def media_hashes_in_use(conn: sa.Connection, hashes: Iterable[str]) -> set[str]:
    """Which of these vault files a publication's images name (the media purge keeps them)."""
    wanted = sorted(set(hashes))
    used: set[str] = set()
    for start in range(0, len(wanted), 200):
        chunk = wanted[start : start + 200]
        rows = conn.execute(
            sa.select(publications.c.media).where(
                sa.or_(*(publications.c.media.contains(sha256) for sha256 in chunk))
            )
        ).scalars()
        for value in rows:
            used.update(item.sha256 for item in _media_decode(value or "[]"))
    return used & set(wanted)


# -- history -------------------------------------------------------------------------------


def add_event(
    conn: sa.Connection,
    publication_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    details: Mapping[str, object] | None = None,
) -> PublicationEvent:
    details = dict(details or {})
    result = conn.execute(
        publication_events.insert().values(
            publication_id=publication_id,
            at_us=to_us(at),
            actor=actor,
            kind=kind,
            details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return PublicationEvent(
        id=int(key[0]), publication_id=publication_id, at=at, actor=actor, kind=kind,
        details=details,
    )  # fmt: skip


def events(conn: sa.Connection, publication_id: int) -> list[PublicationEvent]:
    rows = conn.execute(
        sa.select(publication_events)
        .where(publication_events.c.publication_id == publication_id)
        .order_by(publication_events.c.id)
    ).mappings()
    return [
        PublicationEvent(
            id=int(row["id"]),
            publication_id=int(row["publication_id"]),
            at=from_us(row["at_us"]),
            actor=row["actor"],
            kind=row["kind"],
            details=json.loads(row["details"] or "{}"),
        )
        for row in rows
    ]


# -- templates -------------------------------------------------------------------------------


def _template(row: Mapping[Any, Any]) -> Template:
    return Template(
        id=int(row["id"]),
        name=row["name"],
        title=row["title"],
        body=row["body"],
        lang=row["lang"],
        updated_by=row["updated_by"],
        updated_at=from_us(row["updated_us"]),
    )


def list_templates(conn: sa.Connection) -> list[Template]:
    rows = conn.execute(sa.select(templates_table).order_by(templates_table.c.name)).mappings()
    return [_template(row) for row in rows]


def get_template(conn: sa.Connection, name: str) -> Template | None:
    row = (
        conn.execute(sa.select(templates_table).where(templates_table.c.name == name))
        .mappings()
        .first()
    )
    return None if row is None else _template(row)


def save_template(conn: sa.Connection, template: Template) -> Template:
    """Insert, or replace the one with this name."""
    assert template.updated_at is not None
    values = {
        "name": template.name,
        "title": template.title,
        "body": template.body,
        "lang": template.lang,
        "updated_by": template.updated_by,
        "updated_us": to_us(template.updated_at),
    }
    existing = get_template(conn, template.name)
    if existing is None:
        try:
            with conn.begin_nested():
                result = conn.execute(templates_table.insert().values(**values))
        except sa.exc.IntegrityError as error:
            raise TemplateExists(f"a template named {template.name!r} exists") from error
        key = result.inserted_primary_key
        assert key is not None
        return msgspec.structs.replace(template, id=int(key[0]))
    conn.execute(
        templates_table.update().where(templates_table.c.id == existing.id).values(**values)
    )
    return msgspec.structs.replace(template, id=existing.id)


def delete_template(conn: sa.Connection, name: str) -> bool:
    result = conn.execute(templates_table.delete().where(templates_table.c.name == name))
    return bool(result.rowcount)


# -- crisis mode ---------------------------------------------------------------------------


def _crisis(row: Mapping[Any, Any]) -> CrisisMode:
    return CrisisMode(
        id=int(row["id"]),
        declared_by=row["declared_by"],
        declared_at=from_us(row["declared_us"]),
        until=from_us(row["until_us"]),
        reason=row["reason"],
        ended_by=row["ended_by"],
        ended_at=_at(row["ended_us"]),
    )


def active_crisis(conn: sa.Connection, now_us: int) -> CrisisMode | None:
    """The crisis mode in force now (the latest declared, not ended, not expired)."""
    row = (
        conn.execute(
            sa.select(crisis_modes)
            .where(crisis_modes.c.ended_us.is_(None), crisis_modes.c.until_us > now_us)
            .order_by(crisis_modes.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else _crisis(row)


def declare_crisis(
    conn: sa.Connection, *, by: str, at: datetime, until: datetime, reason: str
) -> CrisisMode:
    result = conn.execute(
        crisis_modes.insert().values(
            declared_by=by, declared_us=to_us(at), until_us=to_us(until), reason=reason
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return CrisisMode(id=int(key[0]), declared_by=by, declared_at=at, until=until, reason=reason)


def end_crisis(conn: sa.Connection, *, by: str, at: datetime) -> int:
    """End every crisis mode still in force; returns how many."""
    result = conn.execute(
        crisis_modes.update()
        .where(crisis_modes.c.ended_us.is_(None), crisis_modes.c.until_us > to_us(at))
        .values(ended_by=by, ended_us=to_us(at))
    )
    return int(result.rowcount)


def crisis_history(conn: sa.Connection, *, limit: int = 20) -> list[CrisisMode]:
    rows = conn.execute(
        sa.select(crisis_modes).order_by(crisis_modes.c.id.desc()).limit(limit)
    ).mappings()
    return [_crisis(row) for row in rows]
