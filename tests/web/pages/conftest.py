"""A dashboard with something to show: stored posts whose text carries a unique marker (so a
test can prove it never reaches a viewer), one monitor over them, and clients per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.access.roles import cli_actor
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import Monitor
from stadspuls.settings import Settings
from stadspuls.store import users
from stadspuls.web.app import create_app
from stadspuls.web.auth import SESSION_COOKIE
from tests.factories import make_post
from tests.support.accounts import bearer

MARKER = "zqxmarker"  # occurs in no template, no label, no catalogue
MAYOR = "burgemeester"  # mentioned by one post: re-identification finds it


@dataclass
class Dashboard:
    client: TestClient
    engine: sa.Engine
    monitor_id: int

    def headers(self, role: str, *, reidentify: bool = False) -> dict[str, str]:
        return bearer(self.engine, role, reidentify=reidentify)

    def session(self, role: str) -> tuple[TestClient, str]:
        """A client logged in through a session cookie, and its CSRF token."""
        bearer(self.engine, role, name=f"{role}-web")
        user = users.find_user(self.engine, f"{role}-web")
        assert user is not None
        assert user.id is not None
        token, csrf = users.create_session(self.engine, user.id, ttl_s=3600)
        client = TestClient(self.client.app)
        client.cookies.set(SESSION_COOKIE, token)
        return client, csrf


@pytest.fixture
def dashboard(settings: Settings, engine: sa.Engine) -> Dashboard:
    pipeline = Pipeline(engine, build_door(settings))
    texts = [
        f"{MARKER} brand bij het station in Eindhoven, veel rook",
        f"{MARKER} rookwolk boven Eindhoven, ramen dicht",
        "verkeer staat vast op de A2 bij Eindhoven",
        f"{MARKER} brandweer is er al, brand bijna onder controle",
    ]
    posts = [make_post(n, text) for n, text in enumerate(texts)]
    posts.append(make_post(9, f"{MARKER} dank aan @{MAYOR}"))
    pipeline.process(posts)
    pipeline.close()
    app = create_app(settings, engine=engine)
    saved, _ = app.state.reads.create_monitor(
        cli_actor("setup"),
        Monitor(
            name="Brand Eindhoven",
            query="brand OR rook*",
            owner="setup",
            purpose="test: fires in Eindhoven",
            legal_basis="public-task",
            retention_days=30,
        ),
    )
    assert saved.id is not None
    return Dashboard(TestClient(app), engine, saved.id)
