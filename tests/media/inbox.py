"""Cases with media, received through the real case service (for grouping, verification and
the staff routes)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from stadspuls.cases.records import AcceptedMedia, Department, InboundMessage, RoutingRule
from stadspuls.cases.service import CaseService
from stadspuls.records import Actor, User, utcnow
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.store import routing_rules, users
from tests.support.inbox import ALWAYS, department


@dataclass
class Desk:
    engine: sa.Engine
    service: CaseService
    department: Department
    sequence: list[int] = field(default_factory=lambda: [0])

    def receive(
        self,
        *media: AcceptedMedia,
        occurred_at: datetime | None = None,
        lat: float | None = None,
        lon: float | None = None,
        call_slug: str | None = None,
    ) -> int:
        self.sequence[0] += 1
        receipt = self.service.receive(
            InboundMessage(
                channel="web",
                external_id=f"web-{self.sequence[0]}-{os.urandom(4).hex()}",
                received_at=utcnow(),
                kind="tip",
                text="Foto's van de brand bij het station.",
                language="nl",
                occurred_at=occurred_at,
                lat=lat,
                lon=lon,
                call_slug=call_slug,
                media=media,
            )
        )
        return receipt.case_id


def actor(engine: sa.Engine, username: str, role: str = "analyst") -> Actor:
    user = users.find_user(engine, username) or users.create_user(
        engine, User(username=username, role=role), password_hash=None
    )
    assert user.id is not None
    return Actor(user_id=user.id, username=username, role=role, via="token")


def desk(engine: sa.Engine, settings: Settings, *members: str) -> Desk:
    """Wijkzaken (always open) takes every message; `members` work there."""
    for username in members:
        actor(engine, username)
    found = department(engine, "wijkzaken", "Wijkzaken", hours=ALWAYS, members=members)
    assert found.id is not None
    with engine.begin() as conn:
        routing_rules.save(conn, RoutingRule(department_id=found.id, name="alles", position=100))
    service = CaseService(engine, settings, sealer=Sealer(os.urandom(32)))
    return Desk(engine, service, found)
