"""A case's conversation, and the outbox its replies leave through.

A reply is a `case_messages` row with direction "out" and delivery "queued". The sender claims
due rows with a lease (their `next_attempt_us` moves forward in the claiming transaction), so
two senders never send the same reply at once and a sender killed mid-send leaves the reply to
be sent again when the lease ends (at least once; `message_id` lets a channel make a retry
idempotent where its protocol allows). This is the approach of the alert outbox
(`store/outbox.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa

from stadspuls.cases.records import CaseMessage
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import case_messages

MAX_ERROR = 500


class DuplicateMessage(Exception):
    """This channel's message was received before (found once the caller's transaction has
    rolled back: `case_of` in a fresh one says where it went)."""


def _message(row: sa.RowMapping) -> CaseMessage:
    return CaseMessage(
        id=int(row["id"]),
        case_id=int(row["case_id"]),
        direction=row["direction"],
        channel=row["channel"],
        at=from_us(row["at_us"]),
        text=row["text"],
        subject=row["subject"],
        author=row["author"],
        template=row["template"],
        delivery=row["delivery"],
    )


def case_of(conn: sa.Connection, channel: str, external_id: str) -> int | None:
    """The case a channel's message (in, or a reply we sent) belongs to."""
    value = conn.execute(
        sa.select(case_messages.c.case_id).where(
            case_messages.c.channel == channel, case_messages.c.external_id == external_id
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


def add(
    conn: sa.Connection,
    case_id: int,
    *,
    direction: str,
    channel: str,
    at: datetime,
    text: str,
    subject: str = "",
    external_id: str | None = None,
    author: str = "",
    template: str | None = None,
    delivery: str | None = None,
) -> CaseMessage:
    """Append a message. A message that was received before raises DuplicateMessage; the
    caller's transaction is then spoilt (PostgreSQL) and must roll back, which is what a
    duplicate should do to the case it was about to open."""
    values = {
        "case_id": case_id,
        "direction": direction,
        "channel": channel,
        "external_id": external_id,
        "at_us": to_us(at),
        "subject": subject,
        "text": text,
        "author": author,
        "template": template,
        "delivery": delivery,
        "next_attempt_us": to_us(at) if delivery == "queued" else None,
    }
    try:
        result = conn.execute(case_messages.insert().values(**values))
    except sa.exc.IntegrityError as error:
        if external_id is None:
            raise
        raise DuplicateMessage(f"{channel} message {external_id!r} was received before") from error
    message_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    row = conn.execute(sa.select(case_messages).where(case_messages.c.id == message_id))
    return _message(row.mappings().one())


def of_case(conn: sa.Connection, case_id: int) -> list[CaseMessage]:
    query = (
        sa.select(case_messages)
        .where(case_messages.c.case_id == case_id)
        .order_by(case_messages.c.at_us, case_messages.c.id)
    )
    return [_message(row) for row in conn.execute(query).mappings()]


def get(conn: sa.Connection, message_id: int) -> CaseMessage | None:
    row = (
        conn.execute(sa.select(case_messages).where(case_messages.c.id == message_id))
        .mappings()
        .first()
    )
    return None if row is None else _message(row)


def claim_due(
    conn: sa.Connection,
    now_us: int,
    *,
    lease_us: int,
    limit: int,
    channels: Collection[str] | None = None,
) -> list[CaseMessage]:
    """Claim queued replies that are due (oldest first), leasing each for `lease_us`."""
    m = case_messages
    query = (
        sa.select(m)
        .where(m.c.direction == "out", m.c.delivery == "queued", m.c.next_attempt_us <= now_us)
        .order_by(m.c.next_attempt_us, m.c.id)
        .limit(limit)
    )
    if channels is not None:
        query = query.where(m.c.channel.in_(list(channels)))
    claimed = []
    for row in conn.execute(query).mappings().all():
        taken = conn.execute(
            m.update()
            .where(m.c.id == row["id"], m.c.delivery == "queued", m.c.next_attempt_us <= now_us)
            .values(next_attempt_us=now_us + lease_us)
        )
        if taken.rowcount:
            claimed.append(_message(row))
    return claimed


def attempts_of(conn: sa.Connection, message_id: int) -> int:
    value = conn.execute(
        sa.select(case_messages.c.attempts).where(case_messages.c.id == message_id)
    ).scalar_one_or_none()
    return 0 if value is None else int(value)


def mark_sent(conn: sa.Connection, message_id: int, external_id: str, now_us: int) -> bool:
    result = conn.execute(
        case_messages.update()
        .where(case_messages.c.id == message_id, case_messages.c.delivery == "queued")
        .values(
            delivery="sent",
            external_id=external_id or None,
            sent_us=now_us,
            attempts=case_messages.c.attempts + 1,
            next_attempt_us=None,
            last_error=None,
        )
    )
    return bool(result.rowcount)


def mark_retry(conn: sa.Connection, message_id: int, next_us: int, error: str) -> bool:
    result = conn.execute(
        case_messages.update()
        .where(case_messages.c.id == message_id, case_messages.c.delivery == "queued")
        .values(
            attempts=case_messages.c.attempts + 1,
            next_attempt_us=next_us,
            last_error=error[:MAX_ERROR],
        )
    )
    return bool(result.rowcount)


def mark_failed(conn: sa.Connection, message_id: int, error: str, *, attempted: bool) -> bool:
    values: dict[str, object] = {
        "delivery": "failed",
        "next_attempt_us": None,
        "last_error": error[:MAX_ERROR],
    }
    if attempted:
        values["attempts"] = case_messages.c.attempts + 1
    result = conn.execute(
        case_messages.update()
        .where(case_messages.c.id == message_id, case_messages.c.delivery == "queued")
        .values(**values)
    )
    return bool(result.rowcount)


def last_error(conn: sa.Connection, message_id: int) -> str | None:
    value: str | None = conn.execute(
        sa.select(case_messages.c.last_error).where(case_messages.c.id == message_id)
    ).scalar_one_or_none()
    return value


def delivery_counts(conn: sa.Connection) -> dict[str, int]:
    """Replies by delivery state ("queued", "sent", "failed", "status_page")."""
    query = (
        sa.select(case_messages.c.delivery, sa.func.count())
        .where(case_messages.c.direction == "out")
        .group_by(case_messages.c.delivery)
    )
    return {str(state): int(n) for state, n in conn.execute(query)}
