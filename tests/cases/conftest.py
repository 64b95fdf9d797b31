"""A case service on each database, with a clock the test moves, a fresh contact key and
users to act as."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.records import Contact, Department, InboundMessage, RoutingRule
from stadspuls.cases.service import CaseService
from stadspuls.records import Actor, User
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.store import departments, routing_rules, users
from tests.support.inbox import WEEKDAYS, department

# Tuesday 1 December 2026, 10:00 in Amsterdam: the desk (Mon–Fri 08:30–17:00) is open.
OPEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# Sunday 6 December 2026, 13:00 in Amsterdam.
SUNDAY = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
# King's Day, Tuesday 27 April 2027, 12:00 in Amsterdam (CEST): a weekday, but a holiday.
KINGS_DAY = datetime(2027, 4, 27, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Inbox:
    engine: sa.Engine
    settings: Settings
    service: CaseService
    clock: Clock
    removed: list[str] = field(default_factory=list)
    _sequence: list[int] = field(default_factory=lambda: [0])

    @property
    def admin(self) -> CaseAdmin:
        return CaseAdmin(self.engine, self.settings, clock=self.clock)

    def actor(self, username: str, role: str = "analyst") -> Actor:
        user = users.find_user(self.engine, username) or users.create_user(
            self.engine, User(username=username, role=role), password_hash=None
        )
        assert user.id is not None
        return Actor(user_id=user.id, username=username, role=role, via="token")

    def department(self, slug: str = "wijkzaken", *members: str, **values: Any) -> Department:
        found = department(self.engine, slug, slug.capitalize(), members=members)
        if values:
            with self.engine.begin() as conn:
                found = departments.save(conn, Department(**{**_fields(found), **values}))
        return found

    def rule(self, target: Department, name: str = "alles", **conditions: Any) -> RoutingRule:
        assert target.id is not None
        with self.engine.begin() as conn:
            return routing_rules.save(
                conn, RoutingRule(department_id=target.id, name=name, **conditions)
            )

    def message(
        self, text: str = "Er ligt afval naast de container.", **values: Any
    ) -> InboundMessage:
        self._sequence[0] += 1
        defaults: dict[str, Any] = {
            "channel": "email",
            "external_id": f"<m{self._sequence[0]}@example.nl>",
            "received_at": self.clock(),
            "text": text,
            "language": "nl",
        }
        return InboundMessage(**{**defaults, **values})


def _fields(department: Department) -> dict[str, Any]:
    return {name: getattr(department, name) for name in department.__struct_fields__}


@pytest.fixture
def inbox(engine: sa.Engine, settings: Settings) -> Inbox:
    clock = Clock(OPEN)
    removed: list[str] = []
    service = CaseService(
        engine,
        settings,
        sealer=Sealer(os.urandom(32)),
        clock=clock,
        rng=lambda: 0.5,
        remove_media=removed.extend,
    )
    return Inbox(engine, settings, service, clock, removed)


@pytest.fixture
def desk(inbox: Inbox) -> Department:
    """Wijkzaken (Mon–Fri 08:30–17:00, holidays closed) takes every message; "ann" and "bob"
    work there."""
    inbox.actor("ann")
    inbox.actor("bob")
    found = inbox.department("wijkzaken", "ann", "bob", hours=WEEKDAYS)
    inbox.rule(found, position=100)
    return found


ALICE = Contact(name="Alice Jansen", email="alice.jansen@example.nl", reply_to="<m@example.nl>")
