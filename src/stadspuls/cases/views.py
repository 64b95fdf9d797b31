"""What the case service hands the web, the CLI and the channels (beside the records)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from stadspuls.cases.records import (
    Call,
    Case,
    CaseEvent,
    CaseMessage,
    Department,
    MediaItem,
)


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """What receiving a message did."""

    case_id: int
    reference: str
    created: bool  # False: a further message in a case, or the same message again
    department: str  # the department's name
    # The status page's token (web reports, new cases only: shown once, stored only hashed).
    status_token: str | None = None
    # The out-of-hours reply that was queued (and is shown on the confirmation page), if any.
    auto_reply: str | None = None
    # When the department next opens (None: open now).
    opens_at: datetime | None = None


class CaseView(msgspec.Struct, frozen=True, kw_only=True):
    case: Case
    department: Department
    events: tuple[CaseEvent, ...]
    messages: tuple[CaseMessage, ...]
    media: tuple[MediaItem, ...]
    assignee: str | None = None  # the assignee's username
    call: Call | None = None
    # Whether the actor may open the contact details (a member of the case's department).
    may_see_contact: bool = False
    # "first_response" and/or "resolution" when past due.
    overdue: tuple[str, ...] = ()


class PublicStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The status page of a web report, for whoever holds its link: no contact details."""

    reference: str
    kind: str
    state: str
    department: str
    created_at: datetime
    updated_at: datetime
    # Replies to the citizen (direction "out") and the citizen's own messages, oldest first.
    messages: tuple[CaseMessage, ...]
    opens_at: datetime | None = None
