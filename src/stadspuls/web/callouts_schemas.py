"""The call-out API's JSON shapes, apart from the records and the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from stadspuls.volunteers.records import SKILLS, CallOut, CallOutEvent, Target
from stadspuls.web.cases_schemas import INT64_MAX

_NO_NUL = r"^[^\x00]*$"
Skill = Annotated[str, StringConstraints(pattern="^(" + "|".join(SKILLS) + ")$")]


class CallOutIn(BaseModel):
    """A point (lat, lon) or a 4-digit postcode or a place name: exactly one."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]
    message: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_NO_NUL)]
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    postcode: Annotated[str, StringConstraints(max_length=10, pattern=_NO_NUL)] | None = None
    place: Annotated[str, StringConstraints(max_length=200, pattern=_NO_NUL)] | None = None
    radius_km: float = Field(default=2.0, description="0.1 to 50 km (settings may narrow it)")
    skills: list[Skill] = Field(default_factory=list, max_length=len(SKILLS))
    wanted: int | None = Field(default=None, description="1 to 200; default 30")
    expires_at: datetime | None = Field(
        default=None, description="Default: now + volunteers.default_expiry_minutes"
    )
    alert_id: Annotated[int, Field(ge=1, le=INT64_MAX)] | None = None


class ExtendIn(BaseModel):
    more: int = Field(ge=1, le=200, description="How many more volunteers to select")


class CloseIn(BaseModel):
    note: Annotated[str, StringConstraints(max_length=1000, pattern=_NO_NUL)] = ""


class CallOutOut(BaseModel):
    id: int
    title: str
    message: str
    lat: float
    lon: float
    place_label: str
    radius_km: float
    skills: list[str]
    wanted: int
    expires_at: datetime
    alert_id: int | None
    state: str
    created_by: str
    created_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None

    @classmethod
    def of(cls, c: CallOut) -> CallOutOut:
        assert c.id is not None
        return cls(
            id=c.id, title=c.title, message=c.message, lat=c.lat, lon=c.lon,
            place_label=c.place_label, radius_km=c.radius_km, skills=list(c.skills),
            wanted=c.wanted, expires_at=c.expires_at, alert_id=c.alert_id, state=c.state,
            created_by=c.created_by, created_at=c.created_at, closed_by=c.closed_by,
            closed_at=c.closed_at,
        )  # fmt: skip


class TargetOut(BaseModel):
    """A selected volunteer as staff see them: rank, distance, skills, answer; a name only
    once they accepted."""

    id: int
    rank: int
    distance_m: int
    skills: list[str]
    reason: str
    selected_at: datetime
    reached: list[str]
    answer: str | None
    answered_at: datetime | None
    arrived_at: datetime | None
    name: str | None

    @classmethod
    def of(cls, t: Target) -> TargetOut:
        return cls(
            id=t.id, rank=t.rank, distance_m=t.distance_m, skills=list(t.skills),
            reason=t.reason, selected_at=t.selected_at, reached=list(t.reached),
            answer=t.answer, answered_at=t.answered_at, arrived_at=t.arrived_at, name=t.name,
        )  # fmt: skip


class CallOutEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    details: dict[str, Any]

    @classmethod
    def of(cls, e: CallOutEvent) -> CallOutEventOut:
        return cls(id=e.id, at=e.at, actor=e.actor, kind=e.kind, details=dict(e.details))


class ExtendOut(BaseModel):
    added: int
