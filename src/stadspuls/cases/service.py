"""The case service: the one way into the inbox for the channels, the public pages, the staff
pages, the API and the CLI. It checks permissions and department membership, writes the case's
history in the same transaction as each change, and audits every view of contact details.
CONTRACT STUB: the cases helper implements it (signatures are the contract).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.cases.records import (
    Case,
    CaseEvent,
    CaseMessage,
    Contact,
    InboundMessage,
)
from stadspuls.cases.views import CaseView, PublicStatus, Receipt
from stadspuls.channels.base import OutboundReply
from stadspuls.records import Actor, utcnow
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings


class CaseStateError(ValueError):
    """A change the case's state does not allow (closing a closed case, replying to a closed
    one); answered 409."""


class CaseService:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        sealer: Sealer,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sealer = sealer
        self.clock = clock

    # -- in: channels and the public pages (no actor: the citizen) --------------------------

    def receive(self, message: InboundMessage) -> Receipt:
        """Open a case (or add a further message to one: `in_reply_to_case`, or the same
        channel conversation), route it, store its sealed contact and its media, and queue the
        out-of-hours reply when its department is closed. Idempotent on (channel, external_id).
        Raises ValueError for a call that is closed or unknown."""
        raise NotImplementedError

    def status(self, token: str) -> PublicStatus | None:
        """The status page behind an unguessable link; None for an unknown token."""
        raise NotImplementedError

    def citizen_reply(self, token: str, text: str) -> None:
        """The citizen adds a message on the status page (reopens an answered case)."""
        raise NotImplementedError

    # -- staff (permission "cases"; a department's cases for its members, all for admins) ----

    def list_cases(
        self,
        actor: Actor,
        *,
        states: Sequence[str] | None = None,
        department_id: int | None = None,
        assignee_id: int | None = None,
        call_id: int | None = None,
        overdue: bool = False,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[Case]:
        """Newest first; `overdue` keeps only cases past a service-level due time."""
        raise NotImplementedError

    def counts(self, actor: Actor, *, department_id: int | None = None) -> dict[str, int]:
        """Cases per state the actor may see, plus "overdue"."""
        raise NotImplementedError

    def view(self, actor: Actor, case_id: int) -> CaseView:
        raise NotImplementedError

    def contact(self, actor: Actor, case_id: int) -> Contact:
        """Open the sealed contact: members of the case's department only; recorded in the
        case's history and the audit log."""
        raise NotImplementedError

    def assign(self, actor: Actor, case_id: int, assignee_id: int | None) -> Case:
        raise NotImplementedError

    def set_state(self, actor: Actor, case_id: int, state: str) -> Case:
        raise NotImplementedError

    def reroute(self, actor: Actor, case_id: int, department_id: int, note: str = "") -> Case:
        raise NotImplementedError

    def note(self, actor: Actor, case_id: int, text: str) -> CaseEvent:
        raise NotImplementedError

    def draft_reply(self, actor: Actor, case_id: int, template: str) -> tuple[str, str]:
        """A template filled for this case: (subject, body), for the person to edit and send."""
        raise NotImplementedError

    def reply(
        self,
        actor: Actor,
        case_id: int,
        *,
        body: str,
        subject: str = "",
        template: str | None = None,
        state_after: str = "answered",
    ) -> CaseMessage:
        """Queue a reply over the case's channel (a web report without e-mail: its status page),
        record it, and move the case to `state_after` ("answered" or "waiting")."""
        raise NotImplementedError

    # -- the outbox (the reply sender in `stadspuls run`) -----------------------------------

    def due_replies(self, *, limit: int = 50) -> list[OutboundReply]:
        raise NotImplementedError

    def delivered(self, message_id: int, external_id: str) -> None:
        raise NotImplementedError

    def failed(self, message_id: int, error: str, *, retry: bool) -> None:
        raise NotImplementedError

    # -- retention ---------------------------------------------------------------------------

    def purge(self) -> int:
        """Delete closed cases past their department's retention period, with their contacts,
        history and media (rows and files no other case uses); returns how many."""
        raise NotImplementedError
