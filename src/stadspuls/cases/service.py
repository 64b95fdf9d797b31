"""The case service: the one way into the inbox for the channels, the public pages, the staff
pages, the API and the CLI. It checks permissions and department membership, writes the case's
history in the same transaction as each change, and audits every view of contact details.

Who sees what (docs/inbox.md): the permission "cases" (analyst and up) and membership of the
case's department. A member sees the department's cases and may open their contact details; an
admin sees every case but opens contact details only where a member; anyone else is told the
case does not exist (NotFound), so that a case number says nothing to whoever may not see it.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.access.roles import Forbidden, allows, check
from stadspuls.cases import contacts, hours, replies, states
from stadspuls.cases.deliveries import Deliveries
from stadspuls.cases.receiving import Receiving, reply_route
from stadspuls.cases.records import (
    Case,
    CaseEvent,
    CaseMessage,
    Contact,
    Department,
)
from stadspuls.cases.retention import Retention
from stadspuls.cases.states import CaseStateError
from stadspuls.cases.views import CaseView, PublicStatus
from stadspuls.records import Actor, utcnow
from stadspuls.sealed import Sealer
from stadspuls.service.errors import NotFound
from stadspuls.settings import Settings
from stadspuls.store import audit, case_messages, departments, reply_templates, users
from stadspuls.store import cases as store
from stadspuls.store import media as media_store
from stadspuls.store.rows import to_us

__all__ = ["CaseInputError", "CaseService", "CaseStateError", "ContactForbidden"]

log = logging.getLogger(__name__)
MAX_NOTE = 10_000
MAX_REPLY = 20_000
MAX_CITIZEN_TEXT = 10_000


class CaseInputError(ValueError):
    """What a person asked for cannot be done as asked (an assignee outside the department, an
    empty note, an unknown department); answered 422."""


class ContactForbidden(Forbidden):
    """Contact details are for members of the case's department only (admins included)."""

    def __init__(self, actor: Actor) -> None:
        PermissionError.__init__(
            self,
            f"{actor.username} is not a member of this case's department and may not see its"
            " contact details",
        )
        self.permission = "cases"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CaseService(Receiving, Deliveries, Retention):
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        sealer: Sealer,
        clock: Callable[[], datetime] = utcnow,
        rng: Callable[[], float] = random.random,
        remove_media: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sealer = sealer
        self.clock = clock
        self.rng = rng
        # Removes the vault files of purged media (media.vault); None keeps them (and logs).
        self.remove_media = remove_media

    # -- in: channels and the public pages (no actor: the citizen) --------------------------
    # `receive` and `find_conversation` come from Receiving (cases/receiving.py); the outbox's
    # `due_replies`, `delivered` and `failed` from Deliveries (cases/deliveries.py); `purge`
    # from Retention (cases/retention.py).

    def status(self, token: str) -> PublicStatus | None:
        """The status page behind an unguessable link; None for an unknown token."""
        if not token or len(token) > 200:
            return None
        with self.engine.connect() as conn:
            case = store.by_token_hash(conn, token_hash(token))
            if case is None:
                return None
            department = self._department(conn, case.department_id)
            messages = case_messages.of_case(conn, case.id)
        opens_at = None
        if case.state != "closed" and not hours.is_open(department.hours, self.clock()):
            opens_at = hours.next_opening(department.hours, self.clock())
        return PublicStatus(
            reference=case.reference,
            kind=case.kind,
            state=case.state,
            department=department.name,
            created_at=case.created_at,
            updated_at=case.updated_at,
            messages=tuple(m for m in messages if m.delivery != "failed"),
            opens_at=opens_at,
        )

    def citizen_reply(self, token: str, text: str) -> None:
        """The citizen adds a message on the status page (reopens an answered case).
        NotFound for an unknown token; ValueError for an empty or too long text."""
        text = _clean(text)
        if not text:
            raise CaseInputError("write a message")
        if len(text) > MAX_CITIZEN_TEXT:
            raise CaseInputError(f"a message is at most {MAX_CITIZEN_TEXT} characters")
        with self.engine.begin() as conn:
            case = store.by_token_hash(conn, token_hash(token)) if token else None
            if case is None:
                raise NotFound("no report with this link")
            self._add_citizen_message(
                conn, case, channel="web", external_id=None, text=text, subject="", media=()
            )

    # -- staff (permission "cases"; a department's cases for its members, all for admins) ----

    def _scope(self, conn: sa.Connection, actor: Actor) -> tuple[list[int] | None, set[int]]:
        """(departments whose cases the actor sees, None: all; departments it is a member of)."""
        check(actor, "cases")
        member = set(departments.of_user(conn, actor.user_id)) if actor.user_id else set()
        return (None if allows(actor, "admin") else sorted(member)), member

    def _visible_case(self, conn: sa.Connection, actor: Actor, case_id: int) -> tuple[Case, bool]:
        """The case and whether the actor is a member of its department; NotFound otherwise."""
        visible, member = self._scope(conn, actor)
        case = store.get(conn, case_id)
        if case is None or (visible is not None and case.department_id not in visible):
            raise NotFound(f"no case {case_id}")
        return case, case.department_id in member

    def _department(self, conn: sa.Connection, department_id: int) -> Department:
        found = departments.get(conn, department_id)
        assert found is not None, "a case's department cannot be deleted (RESTRICT)"
        return found

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
        for state in states or ():
            _check_state(state)
        with self.engine.connect() as conn:
            visible, _ = self._scope(conn, actor)
            return store.list_cases(
                conn,
                department_ids=visible,
                now_us=to_us(self.clock()),
                states=states,
                department_id=department_id,
                assignee_id=assignee_id,
                call_id=call_id,
                overdue=overdue,
                limit=max(1, min(limit, 1000)),
                before_id=before_id,
            )

    def counts(self, actor: Actor, *, department_id: int | None = None) -> dict[str, int]:
        """Cases per state the actor may see, plus "overdue"."""
        with self.engine.connect() as conn:
            visible, _ = self._scope(conn, actor)
            found = store.counts(
                conn, department_ids=visible, now_us=to_us(self.clock()),
                department_id=department_id,
            )  # fmt: skip
        return {state: found.get(state, 0) for state in (*states.OPEN_STATES, "closed", "overdue")}

    def overdue(self, case: Case) -> tuple[str, ...]:
        """Which service levels `case` has missed (none once it is closed)."""
        if case.state == "closed":
            return ()
        now = self.clock()
        late = []
        if (
            case.first_response_at is None
            and case.first_response_due
            and case.first_response_due < now
        ):
            late.append("first_response")
        if case.resolution_due and case.resolution_due < now:
            late.append("resolution")
        return tuple(late)

    def view(self, actor: Actor, case_id: int) -> CaseView:
        with self.engine.connect() as conn:
            case, member = self._visible_case(conn, actor, case_id)
            department = self._department(conn, case.department_id)
            events = store.events_of(conn, case_id)
            messages = case_messages.of_case(conn, case_id)
            media = media_store.for_case(conn, case_id)
            call = self._call(conn, case.call_id)
        assignee = None
        if case.assignee_id is not None:
            user = users.get_user(self.engine, case.assignee_id)
            assignee = None if user is None else user.username
        return CaseView(
            case=case,
            department=department,
            events=tuple(events),
            messages=tuple(messages),
            media=tuple(media),
            assignee=assignee,
            call=call,
            may_see_contact=member,
            overdue=self.overdue(case),
        )

    def contact(self, actor: Actor, case_id: int) -> Contact:
        """Open the sealed contact: members of the case's department only; recorded in the
        case's history and the audit log."""
        with self.engine.begin() as conn:
            case, member = self._visible_case(conn, actor, case_id)
            if not member:
                raise ContactForbidden(actor)
            sealed = store.sealed_contact(conn, case_id)
            found = (
                Contact() if sealed is None else contacts.open_sealed(self.sealer, case_id, sealed)
            )
            details: store.Details = {"case_id": case_id, "reference": case.reference}
            store.add_event(
                conn, case_id, at=self.clock(), actor=actor.username, kind="contact.view",
                details={"reference": case.reference},
            )  # fmt: skip
            audit.record_action(conn, actor, "contact.view", details=details)
        return found

    def assign(self, actor: Actor, case_id: int, assignee_id: int | None) -> Case:
        now = self.clock()
        with self.engine.begin() as conn:
            case, _ = self._visible_case(conn, actor, case_id)
            if assignee_id is not None and assignee_id not in departments.members(
                conn, case.department_id
            ):
                raise CaseInputError(
                    f"user {assignee_id} is not a member of this case's department"
                )
            if assignee_id == case.assignee_id:
                raise CaseInputError("the case is assigned to this person already")
            target = states.after_assign(case.state, assignee_id)
            store.add_event(
                conn, case_id, at=now, actor=actor.username, kind="assigned",
                details={"assignee": assignee_id, "from": case.assignee_id},
            )  # fmt: skip
            self._state_event(conn, case, target, actor.username, now)
            return store.update(
                conn, case_id, assignee_id=assignee_id, state=target, updated_us=to_us(now)
            )

    def _state_event(
        self, conn: sa.Connection, case: Case, target: str, actor: str, now: datetime
    ) -> None:
        if target != case.state:
            store.add_event(
                conn, case.id, at=now, actor=actor, kind="state",
                details={"from": case.state, "to": target},
            )  # fmt: skip

    def set_state(self, actor: Actor, case_id: int, state: str) -> Case:
        now = self.clock()
        with self.engine.begin() as conn:
            case, _ = self._visible_case(conn, actor, case_id)
            try:
                states.by_hand(case.state, state, assigned=case.assignee_id is not None)
            except CaseStateError:
                raise
            except ValueError as error:
                raise CaseInputError(str(error)) from error
            self._state_event(conn, case, state, actor.username, now)
            return store.update(
                conn,
                case_id,
                state=state,
                updated_us=to_us(now),
                closed_us=to_us(now) if state == "closed" else None,
            )

    def reroute(self, actor: Actor, case_id: int, department_id: int, note: str = "") -> Case:
        now = self.clock()
        note = _clean(note)
        if len(note) > MAX_NOTE:
            raise CaseInputError(f"a note is at most {MAX_NOTE} characters")
        with self.engine.begin() as conn:
            case, _ = self._visible_case(conn, actor, case_id)
            if case.state == "closed":
                raise CaseStateError("the case is closed; it cannot be moved")
            target = departments.get(conn, department_id)
            if target is None or not target.active:
                raise CaseInputError(f"no active department {department_id}")
            if target.id == case.department_id:
                raise CaseInputError(f"the case is in {target.name} already")
            # The other department picks its own assignee; its service levels apply from the
            # case's arrival, as a citizen waits the same however often it moves.
            state = "new" if case.state == "assigned" else case.state
            store.add_event(
                conn, case_id, at=now, actor=actor.username, kind="rerouted",
                details={"from": case.department_id, "to": target.id, "note": note},
            )  # fmt: skip
            if case.assignee_id is not None:
                store.add_event(
                    conn, case_id, at=now, actor=actor.username, kind="assigned",
                    details={"assignee": None, "from": case.assignee_id},
                )  # fmt: skip
            self._state_event(conn, case, state, actor.username, now)
            explanation = f"doorgestuurd door {actor.username}" + (f": {note}" if note else "")
            return store.update(
                conn,
                case_id,
                department_id=target.id,
                rule_id=None,
                route_explanation=explanation,
                assignee_id=None,
                state=state,
                updated_us=to_us(now),
                first_response_due_us=_us(hours.due(case.created_at, target.first_response_hours)),
                resolution_due_us=_us(hours.due(case.created_at, target.resolution_hours)),
            )

    def note(self, actor: Actor, case_id: int, text: str) -> CaseEvent:
        text = _clean(text)
        if not text:
            raise CaseInputError("a note needs text")
        if len(text) > MAX_NOTE:
            raise CaseInputError(f"a note is at most {MAX_NOTE} characters")
        with self.engine.begin() as conn:
            self._visible_case(conn, actor, case_id)
            return store.add_event(
                conn, case_id, at=self.clock(), actor=actor.username, kind="note",
                details={"text": text},
            )  # fmt: skip

    def draft_reply(self, actor: Actor, case_id: int, template: str) -> tuple[str, str]:
        """A template filled for this case: (subject, body), for the person to edit and send.
        The citizen's name is filled in for members of the department only."""
        with self.engine.connect() as conn:
            case, member = self._visible_case(conn, actor, case_id)
            found = reply_templates.for_reply(conn, template, case.language, case.department_id)
            if found is None:
                raise NotFound(f"no reply template {template!r} for this case's department")
            if found.reviewed_by is None:
                raise CaseInputError(
                    f"the template {found.name!r} has not been reviewed yet; ask communications"
                )
            department = self._department(conn, case.department_id)
            sealed = store.sealed_contact(conn, case_id) if member else None
            call = self._call(conn, case.call_id)
        contact = (
            Contact() if sealed is None else contacts.open_sealed(self.sealer, case_id, sealed)
        )
        values = self.template_values(case, department, contact, call=call, token=None)
        try:
            subject = replies.render(found.subject, values, language=found.language)
            body = replies.render(found.body, values, language=found.language)
        except replies.TemplateError as error:
            raise CaseInputError(
                f"the template {found.name!r} cannot be filled: {error}"
            ) from error
        return subject, body

    def reply_route(self, actor: Actor, case_id: int) -> tuple[str, str]:
        """Where a reply to this case would go: (channel, delivery), e.g. ("email", "queued")
        or ("web", "status_page"), for the reply form to say so; the contact stays sealed."""
        with self.engine.connect() as conn:
            case, _ = self._visible_case(conn, actor, case_id)
            sealed = store.sealed_contact(conn, case_id)
        contact = (
            Contact() if sealed is None else contacts.open_sealed(self.sealer, case_id, sealed)
        )
        return reply_route(case.channel, contact)

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
        body, subject = _clean(body), _clean(subject)
        if not body:
            raise CaseInputError("a reply needs text")
        if len(body) > MAX_REPLY:
            raise CaseInputError(f"a reply is at most {MAX_REPLY} characters")
        if len(subject) > 300:
            raise CaseInputError("a subject is at most 300 characters")
        now = self.clock()
        with self.engine.begin() as conn:
            case, _ = self._visible_case(conn, actor, case_id)
            try:
                target = states.after_reply(case.state, state_after)
            except CaseStateError:
                raise
            except ValueError as error:
                raise CaseInputError(str(error)) from error
            sealed = store.sealed_contact(conn, case_id)
            contact = (
                Contact() if sealed is None else contacts.open_sealed(self.sealer, case_id, sealed)
            )
            message = self._queue_out(
                conn, case, contact, text=body, subject=subject, template=template,
                author=actor.username, at=now,
            )  # fmt: skip
            store.add_event(
                conn, case_id, at=now, actor=actor.username, kind="reply",
                details={"template": template, "channel": message.channel,
                         "delivery": message.delivery, "message": message.id},
            )  # fmt: skip
            self._state_event(conn, case, target, actor.username, now)
            values: dict[str, object] = {"state": target, "updated_us": to_us(now)}
            if case.first_response_at is None:
                values["first_response_us"] = to_us(now)
            store.update(conn, case_id, **values)
        return message


def _clean(text: str) -> str:
    """Without NUL (nothing a person means, and PostgreSQL cannot store it) and outer space."""
    return text.replace("\x00", "").strip()


def _us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def _check_state(state: str) -> None:
    try:
        states.check_known(state)
    except ValueError as error:
        raise CaseInputError(str(error)) from error
