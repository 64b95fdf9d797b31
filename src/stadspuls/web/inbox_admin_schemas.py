"""API schemas of the inbox's settings (departments, rules, templates, calls), apart from the
records: every string bounded to its column, every number to what makes sense, so a bad request
is a 422 on SQLite and PostgreSQL alike. A PUT replaces the whole setting."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from stadspuls.cases import hours as office_hours
from stadspuls.cases.records import (
    Call,
    CallQuestion,
    Department,
    OfficeHours,
    OpeningSpan,
    ReplyTemplate,
    RoutingRule,
)
from stadspuls.cases.replies import placeholders
from stadspuls.web.schemas import NO_NUL

INT64_MAX = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=INT64_MAX)]


def _bounded(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,64}$")]
Name = Annotated[str, _bounded(200, 1)]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,100}$")]
CallSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{3,80}$")]
Clock = Annotated[str, StringConstraints(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
Short = Annotated[str, _bounded(200)]
Body = Annotated[str, _bounded(20_000, 1)]
Description = Annotated[str, _bounded(20_000)]
QueryText = Annotated[str, _bounded(10_000)]
Subject = Annotated[str, _bounded(300)]
Title = Annotated[str, _bounded(300, 1)]
Category = Annotated[str, _bounded(64)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
QuestionKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Help = Annotated[str, _bounded(1000)]
Hours = Annotated[float, Field(gt=0, le=24 * 366)]
Kind = Literal["question", "tip"]


class SpanIO(BaseModel):
    start: Clock = Field(examples=["08:30"])
    end: Clock = Field(examples=["17:00"], description="24:00 for midnight")


class HoursIO(BaseModel):
    week: dict[Literal["0", "1", "2", "3", "4", "5", "6"], list[SpanIO]] = Field(
        default_factory=dict, description="Spans per weekday, 0 = Monday … 6 = Sunday"
    )
    open_on_holidays: bool = False
    always_open: bool = False

    def to_hours(self) -> OfficeHours:
        return OfficeHours(
            week={
                int(day): tuple(OpeningSpan(start=_time(s.start), end=_time(s.end)) for s in spans)
                for day, spans in self.week.items()
                if spans
            },
            open_on_holidays=self.open_on_holidays,
            always_open=self.always_open,
        )

    @classmethod
    def of(cls, hours: OfficeHours) -> HoursIO:
        week = {
            str(day): [SpanIO(start=_clock(s.start), end=_clock(s.end, end=True)) for s in spans]
            for day, spans in sorted(hours.week.items())
        }
        return cls(
            week=week,  # type: ignore[arg-type]
            open_on_holidays=hours.open_on_holidays,
            always_open=hours.always_open,
        )


def _time(value: str) -> time:
    return time(0, 0) if value == "24:00" else time.fromisoformat(value)


def _clock(value: time, *, end: bool = False) -> str:
    return "24:00" if end and value == time(0, 0) else value.strftime("%H:%M")


class DepartmentIn(BaseModel):
    slug: Slug
    name: Name
    hours: HoursIO = Field(default_factory=HoursIO)
    first_response_hours: Hours | None = 8.0
    resolution_hours: Hours | None = 120.0
    retention_days: Annotated[int, Field(ge=1, le=36_600)] = 5 * 365
    auto_reply_template: TemplateName | None = None
    active: bool = True

    def to_department(self, department_id: int | None = None) -> Department:
        return Department(
            id=department_id,
            slug=self.slug,
            name=self.name,
            hours=self.hours.to_hours(),
            first_response_hours=self.first_response_hours,
            resolution_hours=self.resolution_hours,
            retention_days=self.retention_days,
            auto_reply_template=self.auto_reply_template,
            active=self.active,
        )


class DepartmentOut(BaseModel):
    id: int
    slug: str
    name: str
    hours: HoursIO
    hours_text: str = Field(description="The office hours in Dutch words")
    first_response_hours: float | None
    resolution_hours: float | None
    retention_days: int
    auto_reply_template: str | None
    active: bool
    members: list[int]

    @classmethod
    def of(cls, department: Department, members: list[int]) -> DepartmentOut:
        assert department.id is not None
        return cls(
            id=department.id,
            slug=department.slug,
            name=department.name,
            hours=HoursIO.of(department.hours),
            hours_text=office_hours.describe(department.hours, "nl"),
            first_response_hours=department.first_response_hours,
            resolution_hours=department.resolution_hours,
            retention_days=department.retention_days,
            auto_reply_template=department.auto_reply_template,
            active=department.active,
            members=members,
        )


class MembersIn(BaseModel):
    user_ids: list[Id] = Field(max_length=1000)


Conditions = Annotated[list[Short], Field(max_length=100)]


class RuleIn(BaseModel):
    department_id: Id
    name: Name
    query: QueryText | None = Field(default=None, examples=["afval OR vuilnis OR container*"])
    categories: Conditions = Field(default_factory=list)
    places: Conditions = Field(default_factory=list, examples=[["GM0772", "Eindhoven"]])
    languages: Conditions = Field(default_factory=list)
    kinds: list[Kind] = Field(default_factory=list, max_length=2)
    active: bool = True
    position: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=0, description="Place in the order tried; 0 puts a new rule last"
    )

    def to_rule(self, rule_id: int | None = None) -> RoutingRule:
        return RoutingRule(
            id=rule_id,
            department_id=self.department_id,
            position=self.position,
            name=self.name,
            query=self.query,
            categories=tuple(self.categories),
            places=tuple(self.places),
            languages=tuple(self.languages),
            kinds=tuple(self.kinds),
            active=self.active,
        )


class RuleOut(BaseModel):
    id: int
    department_id: int
    position: int
    name: str
    query: str | None
    categories: list[str]
    places: list[str]
    languages: list[str]
    kinds: list[str]
    active: bool

    @classmethod
    def of(cls, rule: RoutingRule) -> RuleOut:
        assert rule.id is not None
        return cls(
            id=rule.id,
            department_id=rule.department_id,
            position=rule.position,
            name=rule.name,
            query=rule.query,
            categories=list(rule.categories),
            places=list(rule.places),
            languages=list(rule.languages),
            kinds=list(rule.kinds),
            active=rule.active,
        )


class MoveIn(BaseModel):
    steps: Annotated[int, Field(ge=-10_000, le=10_000)] = Field(
        description="Places later in the order (negative: earlier)"
    )


class TestMessageIn(BaseModel):
    text: Body
    subject: Subject = ""
    kind: Kind = "question"
    category: Category | None = None
    language: Language | None = None
    place: Short | None = Field(
        default=None, description="A CBS code or a place name; left out: the first place named"
    )


class DecisionOut(BaseModel):
    department_id: int
    department: str
    rule_id: int | None
    rule: str | None
    explanation: str


class TemplateIn(BaseModel):
    name: TemplateName
    language: Literal["nl", "en"] = "nl"
    subject: Subject = ""
    body: Body
    department_id: Id | None = None

    def to_template(self, template_id: int | None = None) -> ReplyTemplate:
        return ReplyTemplate(
            id=template_id,
            name=self.name,
            language=self.language,
            subject=self.subject,
            body=self.body,
            department_id=self.department_id,
        )


class TemplateOut(BaseModel):
    id: int
    name: str
    language: str
    subject: str
    body: str
    department_id: int | None
    placeholders: list[str]
    reviewed_by: str | None
    reviewed_at: datetime | None
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, template: ReplyTemplate) -> TemplateOut:
        assert template.id is not None
        return cls(
            id=template.id,
            name=template.name,
            language=template.language,
            subject=template.subject,
            body=template.body,
            department_id=template.department_id,
            placeholders=placeholders(template.subject) + placeholders(template.body),
            reviewed_by=template.reviewed_by,
            reviewed_at=template.reviewed_at,
            updated_by=template.updated_by,
            updated_at=template.updated_at,
        )


class QuestionIO(BaseModel):
    key: QuestionKey
    label: Title
    kind: Literal["text", "choice", "photo", "location", "time"] = "text"
    required: bool = False
    choices: list[Short] = Field(default_factory=list, max_length=30)
    help: Help = ""


class CallIn(BaseModel):
    slug: CallSlug = Field(examples=["brand-stationsstraat"])
    title: Title
    description: Description = ""
    department_id: Id
    monitor_id: Id | None = None
    questions: list[QuestionIO] = Field(default_factory=list, max_length=20)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    incident_at: AwareDatetime | None = None
    closed: bool = False

    def to_call(self, call_id: int | None = None) -> Call:
        return Call(
            id=call_id,
            slug=self.slug,
            title=self.title,
            description=self.description,
            department_id=self.department_id,
            monitor_id=self.monitor_id,
            questions=tuple(
                CallQuestion(
                    key=q.key,
                    label=q.label,
                    kind=q.kind,
                    required=q.required,
                    choices=tuple(q.choices),
                    help=q.help,
                )
                for q in self.questions
            ),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            lat=self.lat,
            lon=self.lon,
            incident_at=self.incident_at,
            closed=self.closed,
        )


class CallOut(BaseModel):
    id: int
    slug: str
    title: str
    description: str
    department_id: int
    monitor_id: int | None
    questions: list[QuestionIO]
    starts_at: datetime
    ends_at: datetime | None
    lat: float | None
    lon: float | None
    incident_at: datetime | None
    created_by: str
    created_at: datetime | None
    closed: bool
    public_path: str = Field(description="The public page, /oproep/<slug>")

    @classmethod
    def of(cls, call: Call) -> CallOut:
        assert call.id is not None
        return cls(
            id=call.id,
            slug=call.slug,
            title=call.title,
            description=call.description,
            department_id=call.department_id,
            monitor_id=call.monitor_id,
            questions=[
                QuestionIO(
                    key=q.key,
                    label=q.label,
                    kind=q.kind,  # type: ignore[arg-type]
                    required=q.required,
                    choices=list(q.choices),
                    help=q.help,
                )
                for q in call.questions
            ],
            starts_at=call.starts_at,
            ends_at=call.ends_at,
            lat=call.lat,
            lon=call.lon,
            incident_at=call.incident_at,
            created_by=call.created_by,
            created_at=call.created_at,
            closed=call.closed,
            public_path=f"/oproep/{call.slug}",
        )
