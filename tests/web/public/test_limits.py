"""The abuse limits on the live pages (429 with Retry-After and a friendly page), and no client
address stored anywhere after reports were filed."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.store.schema import metadata
from tests.web.public.conftest import CLIENT_ADDRESS, Public, jpeg, public_app, public_settings


def test_past_the_hourly_limit_an_address_gets_429(settings: Settings, engine: sa.Engine) -> None:
    configured = public_settings(settings, engine, reports_per_address_hour=2)
    with public_app(configured, engine) as app:
        client = TestClient(app, client=("198.51.100.4", 4000))
        client.get("/melden")
        data = {
            "csrf": client.cookies.get("stadspuls_public_csrf") or "",
            "text": "Losse stoeptegel.",
        }
        codes = [
            client.post("/melden", data=data, follow_redirects=False).status_code for _ in range(3)
        ]
        assert codes == [303, 303, 429]
        refused = client.post("/melden", data=data, follow_redirects=False)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert "Even geduld" in refused.text
        assert "bel 112" in refused.text
        other = TestClient(app, client=("198.51.100.5", 4000))
        other.get("/melden")
        data["csrf"] = other.cookies.get("stadspuls_public_csrf") or ""
        assert other.post("/melden", data=data, follow_redirects=False).status_code == 303


def test_no_client_address_is_stored_in_any_table(public: Public) -> None:
    data = {
        "csrf": public.csrf(),
        "kind": "tip",
        "text": "Verdachte situatie bij de fietsenstalling.",
        "email": "melder@example.nl",
        "consent": "1",
    }
    photo = [("media", ("stalling.jpg", jpeg(), "image/jpeg"))]
    assert (
        public.client.post("/melden", data=data, files=photo, follow_redirects=False).status_code
        == 303
    )
    found = []
    with public.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                if any(CLIENT_ADDRESS in str(value) for value in row):
                    found.append(table.name)
        counted = conn.execute(sa.text("SELECT count(*) FROM intake_quota")).scalar_one()
    assert found == []
    assert counted == 1  # the address was counted, under its keyed hash
    # The contact is sealed: the e-mail address is in no table in plain text either.
    with public.engine.connect() as conn:
        plain = [
            table.name
            for table in metadata.sorted_tables
            for row in conn.execute(sa.select(table))
            if any("melder@example.nl" in str(value) for value in row)
        ]
    assert plain == []
