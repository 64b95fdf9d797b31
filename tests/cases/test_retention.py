"""Retention: closed cases go with everything that hangs off them once their department's
period has passed since closing; open and recently closed cases stay, and so do media files
another case still uses."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.cases.records import AcceptedMedia, Department
from stadspuls.store import audit
from stadspuls.store.schema import case_contacts, case_events, case_messages, cases, media
from tests.cases.conftest import ALICE, Inbox


def _photo(inbox: Inbox, sha: str) -> AcceptedMedia:
    return AcceptedMedia(
        sha256=sha * 64, size=10, content_type="image/jpeg", received_at=inbox.clock()
    )


def _rows(inbox: Inbox, table: sa.Table, case_id: int) -> int:
    column = table.c.id if table is cases else table.c.case_id
    with inbox.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table).where(column == case_id)
        return int(conn.execute(query).scalar_one())


def test_purge_after_the_retention_period(inbox: Inbox, desk: Department) -> None:
    ann = inbox.actor("ann")
    inbox.department("wijkzaken", retention_days=30)
    old = inbox.service.receive(
        inbox.message(contact=ALICE, channel="web", media=(_photo(inbox, "a"), _photo(inbox, "b")))
    ).case_id
    # Another case holds a copy of photo "b": its file must stay.
    sharing = inbox.service.receive(
        inbox.message(channel="web", media=(_photo(inbox, "b"),))
    ).case_id
    still_open = inbox.service.receive(inbox.message()).case_id
    inbox.service.reply(ann, old, body="Opgelost.")
    inbox.service.set_state(ann, old, "closed")
    inbox.clock.advance(days=20)
    recently_closed = inbox.service.receive(inbox.message()).case_id
    inbox.service.set_state(ann, recently_closed, "closed")

    inbox.clock.advance(days=9)
    assert inbox.service.purge() == 0  # 29 days after closing
    inbox.clock.advance(days=1, seconds=1)
    assert inbox.service.purge() == 1
    for table in (cases, case_contacts, case_events, case_messages, media):
        assert _rows(inbox, table, old) == 0, table.name
    for kept in (sharing, still_open, recently_closed):
        assert _rows(inbox, cases, kept) == 1
    assert inbox.removed == ["a" * 64]
    _, entries = audit.list_entries(inbox.engine, actions=["cases.purge"])
    assert [e.details and e.details["cases"] for e in entries] == [1]
    assert inbox.service.purge() == 0
