"""Reply templates of the inbox. Names are unique; a translation carries its language in its
name ("ontvangen-en", see cases.replies.localized_name)."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.cases.records import ReplyTemplate
from stadspuls.cases.replies import localized_name
from stadspuls.records import utcnow
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import reply_templates


class TemplateExists(ValueError):
    """Another template has this name."""


def _row(row: sa.RowMapping) -> ReplyTemplate:
    return ReplyTemplate(
        id=row["id"],
        name=row["name"],
        language=row["language"],
        subject=row["subject"],
        body=row["body"],
        department_id=row["department_id"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=None if row["reviewed_us"] is None else from_us(row["reviewed_us"]),
        updated_at=from_us(row["updated_us"]),
        updated_by=row["updated_by"],
    )


def save(conn: sa.Connection, template: ReplyTemplate, *, editor: str) -> ReplyTemplate:
    """Insert or update; the review stays only when given (a change needs a new review)."""
    values: dict[str, object] = {
        "name": template.name,
        "language": template.language,
        "subject": template.subject,
        "body": template.body,
        "department_id": template.department_id,
        "reviewed_by": template.reviewed_by,
        "reviewed_us": None if template.reviewed_at is None else to_us(template.reviewed_at),
        "updated_us": to_us(utcnow()),
        "updated_by": editor,
    }
    try:
        if template.id is None:
            result = conn.execute(reply_templates.insert().values(**values))
            template_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        else:
            conn.execute(
                reply_templates.update().where(reply_templates.c.id == template.id).values(**values)
            )
            template_id = template.id
    except sa.exc.IntegrityError as error:
        raise TemplateExists(f"a template named {template.name!r} exists") from error
    found = get(conn, template_id)
    if found is None:
        raise LookupError(f"no reply template {template_id}")
    return found


def get(conn: sa.Connection, template_id: int) -> ReplyTemplate | None:
    query = sa.select(reply_templates).where(reply_templates.c.id == template_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else _row(row)


def by_name(conn: sa.Connection, name: str) -> ReplyTemplate | None:
    query = sa.select(reply_templates).where(reply_templates.c.name == name)
    row = conn.execute(query).mappings().first()
    return None if row is None else _row(row)


def list_all(conn: sa.Connection, *, department_id: int | None = None) -> list[ReplyTemplate]:
    """Every template; with `department_id`, those that department may use (its own and the
    shared ones)."""
    query = sa.select(reply_templates).order_by(reply_templates.c.name)
    if department_id is not None:
        query = query.where(
            sa.or_(
                reply_templates.c.department_id.is_(None),
                reply_templates.c.department_id == department_id,
            )
        )
    return [_row(row) for row in conn.execute(query).mappings()]


def review(conn: sa.Connection, template_id: int, reviewer: str) -> None:
    conn.execute(
        reply_templates.update()
        .where(reply_templates.c.id == template_id)
        .values(reviewed_by=reviewer, reviewed_us=to_us(utcnow()))
    )


def delete(conn: sa.Connection, template_id: int) -> bool:
    result = conn.execute(reply_templates.delete().where(reply_templates.c.id == template_id))
    return result.rowcount > 0


def for_reply(
    conn: sa.Connection, name: str, language: str | None, department_id: int | None = None
) -> ReplyTemplate | None:
    """The template to answer with: `name` in the case's language when there is a translation
    ("ontvangen-en"), else `name` itself; never another department's own template."""
    names = [localized_name(name, language)] if language and language != "nl" else []
    for candidate in [*names, name]:
        found = by_name(conn, candidate)
        if found is None:
            continue
        if found.department_id is not None and found.department_id != department_id:
            continue
        return found
    return None
