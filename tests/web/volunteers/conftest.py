"""The volunteer pages for tests: the real app (volunteer and call-out services, the public pages'
quota) on a store of its own, on SQLite and PostgreSQL, with a real SMTP server on loopback that
keeps the e-mails (the confirmation and manage links are read from them, as a volunteer would)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from stadspuls.settings import Settings, SmtpSettings
from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.registry import VolunteerService
from stadspuls.web.routes.public_pages import CSRF_COOKIE
from tests.support.http import closed_port
from tests.support.smtp_server import SmtpInbox
from tests.web.public.conftest import CLIENT_ADDRESS, public_app, public_settings

LINK = re.compile(r"https?://[^\s\"'<>]+(/vrijwilligers/[a-z]+/[A-Za-z0-9_.~=-]+)")


@dataclass
class Site:
    client: TestClient
    engine: sa.Engine
    settings: Settings
    mail: SmtpInbox

    @property
    def volunteers(self) -> VolunteerService:
        found: VolunteerService = self.client.app.state.volunteers  # type: ignore[attr-defined]
        return found

    @property
    def callouts(self) -> CallOutService:
        found: CallOutService = self.client.app.state.callouts  # type: ignore[attr-defined]
        return found

    def csrf(self) -> str:
        if not self.client.cookies.get(CSRF_COOKIE):
            assert self.client.get("/vrijwilligers").status_code == 200
        token = self.client.cookies.get(CSRF_COOKIE)
        assert token
        return token

    def links(self, kind: str) -> list[str]:
        """The paths of every `/vrijwilligers/<kind>/…` link in the e-mails so far."""
        found = []
        for message in self.mail.messages:
            found += [p for p in LINK.findall(_text(message)) if p.split("/")[2] == kind]
        return found

    def register(self, **fields: str | list[str]) -> httpx.Response:
        data: dict[str, str | list[str]] = {
            "csrf": self.csrf(),
            "name": "Sanne",
            "email": "sanne@example.nl",
            "where": "3511",
            "radius_km": "5",
            "skills": ["first_aid", "aed"],
            "availability": "always",
            "channels": ["email"],
            "consent": "1",
        }
        data.update(fields)
        return self.client.post("/vrijwilligers", data=data, follow_redirects=False)

    def confirmed(self, email: str = "sanne@example.nl", **fields: str | list[str]) -> str:
        """Register and follow the e-mail's confirmation link; the manage page's path."""
        before = len(self.links("bevestig"))
        answer = self.client.post(
            "/vrijwilligers",
            data={
                "csrf": self.csrf(),
                "name": "Sanne",
                "email": email,
                "where": "3511",
                "radius_km": "5",
                "skills": ["first_aid"],
                "availability": "always",
                "channels": ["email"],
                "consent": "1",
                **fields,
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        confirm = self.links("bevestig")[before]
        assert self.client.get(confirm).status_code == 200  # a button, nothing confirmed yet
        landed = self.client.post(confirm, follow_redirects=False)
        assert landed.status_code == 303
        manage = landed.headers["location"].split("?")[0]
        assert manage.startswith("/vrijwilligers/ik/")
        return manage


def _text(message: EmailMessage) -> str:
    parts = [message] if not message.is_multipart() else list(message.walk())
    text = []
    for part in parts:
        if part.get_content_maintype() == "text":
            text.append(str(part.get_content()))
    return "\n".join(text)


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    inbox = SmtpInbox()
    port = closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextmanager
def running_site(
    settings: Settings, engine: sa.Engine, smtp: tuple[SmtpInbox, int], **inbox_settings: object
) -> Iterator[Site]:
    inbox, port = smtp
    configured = public_settings(settings, engine, **inbox_settings).model_copy(
        update={"smtp": SmtpSettings(host="127.0.0.1", port=port, starttls=False)}
    )
    with (
        public_app(configured, engine) as app,
        TestClient(app, client=(CLIENT_ADDRESS, 50123)) as client,
    ):
        yield Site(client, engine, configured, inbox)


@pytest.fixture
def site(settings: Settings, engine: sa.Engine, smtp: tuple[SmtpInbox, int]) -> Iterator[Site]:
    with running_site(settings, engine, smtp) as running:
        yield running
