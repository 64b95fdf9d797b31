"""A volunteer register on a real store (SQLite and PostgreSQL), its mails kept in a list, and
a clock the tests move."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.volunteers.records import Registration
from stadspuls.volunteers.registry import VolunteerService
from stadspuls.volunteers.select import Selector

# A Wednesday, 14:00 in Amsterdam.
NOW = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
BASE = "https://stadspuls.example"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Register:
    service: VolunteerService
    selector: Selector
    engine: sa.Engine
    clock: Clock
    mails: list[EmailMessage] = field(default_factory=list)

    def link(self, message: EmailMessage) -> str:
        body = message.get_content()
        return str(next(w for w in body.split() if w.startswith(BASE)))

    def token(self, message: EmailMessage) -> str:
        return self.link(message).rsplit("/", 1)[1]

    def join(self, email: str = "anna@example.org", **changes: object) -> int:
        """Register and confirm; the volunteer's id."""
        values: dict[str, object] = {
            "name": "Anna",
            "email": email,
            "postcode": "3511",
            "radius_km": 5.0,
            "consent": True,
        } | changes
        volunteer = self.service.register(Registration(**values), base_url=BASE)  # type: ignore[arg-type]
        self.service.confirm(self.token(self.mails[-1]))
        assert volunteer.id is not None
        return volunteer.id


@pytest.fixture
def register(engine: sa.Engine, settings: Settings) -> Register:
    clock = Clock()
    sealer, index_key = Sealer(os.urandom(32)), os.urandom(32)
    mails: list[EmailMessage] = []
    service = VolunteerService(
        engine, settings, sealer=sealer, index_key=index_key, send_mail=mails.append, clock=clock
    )
    selector = Selector(engine, settings, sealer=sealer, index_key=index_key)
    return Register(service, selector, engine, clock, mails)
