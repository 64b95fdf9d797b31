"""A case's history as people read it: newest first, with the ids in its events' details turned
into the names of departments, rules and people ("Gerouteerd naar Wijkzaken door regel 'Afval'").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import msgspec

from stadspuls.cases.records import CaseEvent

# Which details name something by id, per kind of event (cases/service.py writes them).
DEPARTMENTS = {"routed": ("department",), "rerouted": ("from", "to")}
PEOPLE = {"assigned": ("assignee", "from")}
RULES = {"routed": ("rule",)}


class Step(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    at: datetime
    actor: str
    values: dict[str, str]


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def people_in(events: Iterable[CaseEvent]) -> set[int]:
    """The user ids the history names (to look their names up once)."""
    found: set[int] = set()
    for event in events:
        for key in PEOPLE.get(event.kind, ()):
            value = event.details.get(key)
            if isinstance(value, int) and _is_id(value):
                found.add(value)
    return found


def readable(
    events: Sequence[CaseEvent],
    *,
    departments: Mapping[int, str],
    people: Mapping[int, str],
    rules: Mapping[int, str],
    calls: Mapping[str, str],
) -> list[Step]:
    """Newest first; each event's details as text, ids replaced by names (a deleted rule or
    department keeps its number)."""
    steps = []
    for event in sorted(events, key=lambda e: (e.at, e.id or 0), reverse=True):
        names: dict[str, Mapping[int, str]] = {}
        for key in DEPARTMENTS.get(event.kind, ()):
            names[key] = departments
        for key in PEOPLE.get(event.kind, ()):
            names[key] = people
        for key in RULES.get(event.kind, ()):
            names[key] = rules
        values: dict[str, str] = {}
        for key, value in event.details.items():
            if value is None or value == "":
                continue
            if key in names and isinstance(value, int) and _is_id(value):
                values[key] = names[key].get(value, f"#{value}")
            elif key == "call" and isinstance(value, str):
                values[key] = calls.get(value, value)
            else:
                values[key] = str(value)
        steps.append(Step(kind=event.kind, at=event.at, actor=event.actor, values=values))
    return steps
