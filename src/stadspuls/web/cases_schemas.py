"""API schemas of the inbox's cases: what /api/cases promises, kept apart from the records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from stadspuls.cases.records import Case, CaseEvent, CaseMessage, Contact, MediaItem
from stadspuls.cases.views import CaseView
from stadspuls.web.schemas import plain

# Something besides spaces, and no NUL anywhere (a NUL cannot be stored on PostgreSQL).
_TEXT = r"^[^\x00]*[^\x00\s][^\x00]*$"
_NO_NUL = r"^[^\x00]*$"
INT64_MAX = 2**63 - 1


class CaseOut(BaseModel):
    id: int
    reference: str = Field(description="Shown to the citizen: SP-2026-000123")
    channel: Literal["web", "email", "mastodon", "bluesky"]
    kind: Literal["question", "tip"]
    state: Literal["new", "assigned", "waiting", "answered", "closed"]
    department_id: int
    rule_id: int | None
    route_explanation: str = Field(description="Which routing rule took it, and why")
    assignee_id: int | None
    call_id: int | None
    subject: str
    text: str
    language: str | None
    category: str | None
    lat: float | None
    lon: float | None
    address: str | None
    place_code: str | None = Field(description="CBS municipality code, from the point or text")
    place_name: str | None
    occurred_at: datetime | None
    answers: dict[str, str]
    has_contact: bool = Field(description="Contact details are stored (sealed); see /contact")
    media_count: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    overdue: list[Literal["first_response", "resolution"]] = Field(
        default=[], description="The service levels this open case has missed"
    )

    @classmethod
    def of(cls, case: Case, overdue: Sequence[str] = ()) -> CaseOut:
        return cls.model_validate({**plain(case), "overdue": list(overdue)})


class EventOut(BaseModel):
    id: int | None
    at: datetime
    actor: str
    kind: str
    details: dict[str, str | int | float | bool | None]


class MessageOut(BaseModel):
    id: int | None
    direction: Literal["in", "out"]
    channel: str
    at: datetime
    subject: str
    text: str
    author: str
    template: str | None
    delivery: str | None = Field(
        description="For replies: queued, sent, failed, or status_page (shown there only)"
    )

    @classmethod
    def of(cls, message: CaseMessage) -> MessageOut:
        return cls.model_validate(plain(message))


class MediaOut(BaseModel):
    id: int
    sha256: str
    size: int
    content_type: str
    filename: str
    width: int | None
    height: int | None
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    phash: str | None
    c2pa: str | None
    received_at: datetime
    group_id: int | None


class DepartmentOut(BaseModel):
    id: int
    slug: str
    name: str


class CaseDetail(BaseModel):
    case: CaseOut
    department: DepartmentOut
    assignee: str | None
    call_title: str | None
    may_see_contact: bool = Field(
        description="You are a member of the case's department: POST /contact opens it"
    )
    overdue: list[Literal["first_response", "resolution"]]
    events: list[EventOut] = Field(description="The history, oldest first (append-only)")
    messages: list[MessageOut] = Field(description="The conversation, oldest first")
    media: list[MediaOut]

    @classmethod
    def of(cls, view: CaseView) -> CaseDetail:
        department = view.department
        assert department.id is not None
        return cls(
            case=CaseOut.of(view.case, view.overdue),
            department=DepartmentOut(id=department.id, slug=department.slug, name=department.name),
            assignee=view.assignee,
            call_title=None if view.call is None else view.call.title,
            may_see_contact=view.may_see_contact,
            overdue=list(view.overdue),  # type: ignore[arg-type]
            events=[_event(e) for e in view.events],
            messages=[MessageOut.of(m) for m in view.messages],
            media=[_media(m) for m in view.media],
        )


def _event(event: CaseEvent) -> EventOut:
    return EventOut.model_validate(plain(event))


def _media(item: MediaItem) -> MediaOut:
    return MediaOut.model_validate(plain(item))


class CasePage(BaseModel):
    cases: list[CaseOut]
    next_before_id: int | None = Field(
        description="Pass as before_id for the next (older) page; null on the last page"
    )


class ContactOut(BaseModel):
    name: str | None
    email: str | None
    handle: str | None
    reply_to: str | None

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls.model_validate(plain(contact))


class DraftOut(BaseModel):
    template: str
    subject: str
    body: str


class AssignIn(BaseModel):
    assignee_id: Annotated[int, Field(ge=1, le=INT64_MAX)] | None = Field(
        description="A member of the case's department; null takes the assignee away"
    )


class StateIn(BaseModel):
    state: Literal["assigned", "waiting", "answered", "closed"]


class RerouteIn(BaseModel):
    department_id: int = Field(ge=1, le=INT64_MAX)
    note: Annotated[str, StringConstraints(max_length=10_000, pattern=_NO_NUL)] = ""


class CaseNoteIn(BaseModel):
    text: Annotated[str, StringConstraints(max_length=10_000, pattern=_TEXT)]


class ReplyIn(BaseModel):
    body: Annotated[str, StringConstraints(max_length=20_000, pattern=_TEXT)]
    subject: Annotated[str, StringConstraints(max_length=300, pattern=_NO_NUL)] = ""
    template: Annotated[str, StringConstraints(max_length=100, pattern=_NO_NUL)] | None = None
    state_after: Literal["answered", "waiting"] = "answered"
