"""An inbox with something in it: two departments (Wijkzaken takes waste by a routing rule,
Handhaving has its own member), people in each role, and citizens' reports received through the
real case service. The app is the real one; only its case service's clock is ours, so a test can
let a service level pass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.access.roles import cli_actor
from stadspuls.cases.records import Contact, InboundMessage, ReplyTemplate, RoutingRule
from stadspuls.cases.service import CaseService
from stadspuls.cases.views import Receipt
from stadspuls.settings import Settings
from stadspuls.store import users
from stadspuls.web.app import create_app
from stadspuls.web.auth import SESSION_COOKIE
from tests.support.accounts import bearer
from tests.support.inbox import ALWAYS, department

EMAIL = "jan.jansen@example.org"  # the citizen's address: never on a page before the POST
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Inbox:
    client: TestClient
    engine: sa.Engine
    cases: CaseService
    clock: Clock
    wijkzaken: int
    handhaving: int

    def headers(self, name: str) -> dict[str, str]:
        """A personal API token of an existing user (pages accept it; no CSRF token needed)."""
        user = users.find_user(self.engine, name)
        assert user is not None
        assert user.id is not None
        return {"Authorization": f"Bearer {users.create_token(self.engine, user.id, 'test')}"}

    def session(self, name: str) -> TestClient:
        """A browser-like client logged in as `name` with a session cookie."""
        user = users.find_user(self.engine, name)
        assert user is not None
        assert user.id is not None
        token, _csrf = users.create_session(self.engine, user.id, ttl_s=3600)
        client = TestClient(self.client.app, follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, token)
        return client

    def report(self, external_id: str, text: str, **values: object) -> Receipt:
        message = InboundMessage(
            channel=str(values.pop("channel", "web")),
            external_id=external_id,
            received_at=self.clock(),
            text=text,
            **values,  # type: ignore[arg-type]
        )
        return self.cases.receive(message)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no csrf field on the page"
    return found.group(1)


@pytest.fixture
def inbox(settings: Settings, engine: sa.Engine) -> Inbox:
    for name, role in (("anna", "analyst"), ("bert", "analyst"), ("piet", "analyst")):
        bearer(engine, role, name=name)
    bearer(engine, "viewer", name="kees")
    bearer(engine, "admin", name="beheer")
    wijk = department(engine, "wijkzaken", "Wijkzaken", hours=ALWAYS, members=("anna", "bert"))
    hand = department(engine, "handhaving", "Handhaving", hours=ALWAYS, members=("piet",))
    assert wijk.id is not None
    assert hand.id is not None
    app = create_app(settings, engine=engine)
    clock = Clock()
    cases = CaseService(engine, settings, sealer=app.state.cases.sealer, clock=clock)
    app.state.cases = cases
    admin = app.state.case_admin
    boss = cli_actor("beheer")
    admin.ensure_fallback()
    admin.save_rule(
        boss, RoutingRule(department_id=wijk.id, name="Afval", categories=("afval",), position=1)
    )
    # One reviewed template of Wijkzaken, and one still waiting for its review.
    saved = admin.save_template(
        boss,
        ReplyTemplate(
            name="opgehaald",
            department_id=wijk.id,
            subject="Uw melding {referentie}",
            body="Beste melder, het afval is opgehaald. Met vriendelijke groet, {afdeling}",
        ),
    )
    assert saved.id is not None
    admin.review_template(cli_actor("communicatie"), saved.id)
    admin.save_template(
        boss, ReplyTemplate(name="concept", department_id=wijk.id, body="Nog niet klaar.")
    )
    return Inbox(TestClient(app, follow_redirects=False), engine, cases, clock, wijk.id, hand.id)


def waste(inbox: Inbox, external_id: str = "w-1", **values: object) -> Receipt:
    """A tip about waste by the web form, with an e-mail address: Wijkzaken's by the rule."""
    values.setdefault("contact", Contact(name="Jan Jansen", email=EMAIL))
    return inbox.report(
        external_id,
        "Er ligt al drie dagen grofvuil naast de container in de Kerkstraat.",
        kind="tip",
        subject="Grofvuil Kerkstraat",
        category="afval",
        consent=True,
        **values,
    )


def row_of(html: str, case_id: int) -> str:
    """The list's row of one case."""
    at = html.index(f'id="case-{case_id}"')
    start = html.rindex("<tr", 0, at)
    return html[start : html.index("</tr>", at)]


def later(inbox: Inbox, hours: float) -> None:
    inbox.clock.now += timedelta(hours=hours)
