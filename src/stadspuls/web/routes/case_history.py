"""A case's history as people read it: newest first, with the ids in its events' details turned
into the names of departments and people ("Gerouteerd naar Wijkzaken door regel 'Afval'")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import msgspec

from stadspuls.cases.records import CaseEvent

# Details that name a department or a person by id (the service may also give names).
DEPARTMENT_KEYS = ("department", "department_id", "from", "to", "from_department", "to_department")
PERSON_KEYS = ("assignee", "assignee_id")


class Step(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    at: datetime
    actor: str
    values: dict[str, str]


def people_in(events: Iterable[CaseEvent]) -> set[int]:
    """The user ids the history names (to look their names up once)."""
    found: set[int] = set()
    for event in events:
        for key in PERSON_KEYS:
            value = event.details.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(value)
    return found


def readable(
    events: Sequence[CaseEvent], departments: Mapping[int, str], people: Mapping[int, str]
) -> list[Step]:
    steps = []
    for event in sorted(events, key=lambda e: (e.at, e.id or 0), reverse=True):
        values: dict[str, str] = {}
        for key, value in event.details.items():
            if value is None or value == "":
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                if key in DEPARTMENT_KEYS:
                    values[key] = departments.get(value, f"#{value}")
                    continue
                if key in PERSON_KEYS:
                    values[key] = people.get(value, f"#{value}")
                    continue
            values[key] = str(value)
        steps.append(Step(kind=event.kind, at=event.at, actor=event.actor, values=values))
    return steps
