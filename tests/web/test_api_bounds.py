"""Hostile parameters get a 422 that says what is wrong, never a 500 (issue 7)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stadspuls.settings import Settings
from stadspuls.web.app import create_app
from tests.factories import make_post
from tests.query.corpus import store
from tests.support.accounts import bearer

MONITOR = {
    "name": "lochem",
    "query": "lochem",
    "purpose": "flood watch for the municipality of Lochem",
    "legal_basis": "public-task",
}


@pytest.fixture
def client(settings: Settings, engine: sa.Engine) -> TestClient:
    key = "u" + "0" * 16  # a pseudonym: these posts stand for posts that passed the door
    store(
        engine,
        [make_post(n, f"Dijk bij Lochem {n}", author=None, author_key=key) for n in range(3)],
    )
    client = TestClient(
        create_app(settings, engine=engine), raise_server_exceptions=False, headers=bearer(engine)
    )
    assert client.post("/api/monitors", json=MONITOR).status_code == 201
    return client


def _problem(response: object) -> str:
    assert getattr(response, "status_code", None) == 422, getattr(response, "text", response)
    return str(response.json()["detail"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/api/posts?offset=9223372036854775808", "less than or equal to 1000000"),
        ("/api/posts?offset=-1", "greater than or equal to 0"),
        ("/api/posts?limit=99999999999999999999", "less than or equal to 1000"),
        ("/api/monitors/99999999999999999999", "less than or equal to 9223372036854775807"),
        ("/api/monitors/9223372036854775808/posts", "less than or equal to 9223372036854775807"),
        ("/api/monitors/0", "greater than or equal to 1"),
        ("/api/monitors/1/posts?offset=9223372036854775808", "less than or equal to 1000000"),
        ("/api/stats/volume?bucket=99999999999999999999", "should match pattern"),
        ("/api/stats/volume?bucket=9223372036854775807", "should match pattern"),
        ("/api/stats/volume?bucket=%C2%B2", "should match pattern"),  # "²" is a digit to isdigit
        ("/api/stats/volume?bucket=0", "1 to 31622400 seconds"),
        ("/api/stats/volume?bucket=999999999", "1 to 31622400 seconds"),
        ("/api/monitors/1/stats?bucket=99999999999999999999", "should match pattern"),
        ("/api/posts?" + "&".join(f"source=s{n}" for n in range(101)), "at most 100 items"),
        ("/api/stats/volume?source=" + "s" * 65, "at most 64 characters"),
    ],
)
def test_numbers_beyond_their_bounds_are_422(client: TestClient, url: str, says: str) -> None:
    assert says in _problem(client.get(url))


@pytest.mark.parametrize(
    "path", ["/api/posts", "/api/stats/volume", "/api/monitors/1/posts", "/api/monitors/1/stats"]
)
@pytest.mark.parametrize("name", ["since", "until"])
def test_times_without_a_zone_are_422(client: TestClient, path: str, name: str) -> None:
    assert "timezone" in _problem(client.get(path, params={name: "2026-11-23T12:00:00"}))
    with_zone = client.get(path, params={name: "2026-11-23T13:00:00+01:00"})
    assert with_zone.status_code == 200, with_zone.text


def test_the_openapi_schema_states_the_bounds(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/posts"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["offset"]["schema"]["maximum"] == 1_000_000
    assert "time zone" in params["since"]["description"]
    monitor = client.get("/openapi.json").json()["paths"]["/api/monitors/{monitor_id}"]["get"]
    assert monitor["parameters"][0]["schema"]["maximum"] == 2**63 - 1


@pytest.mark.parametrize(
    "field", ["name", "query", "owner", "purpose", "legal_basis", "retention_days", "places"]
)
def test_patching_a_field_to_null_is_422_and_changes_nothing(
    client: TestClient, field: str
) -> None:
    before = client.get("/api/monitors/1").json()
    assert "must not be null" in _problem(client.patch("/api/monitors/1", json={field: None}))
    assert client.get("/api/monitors/1").json() == before
    assert client.patch("/api/monitors/1", json={"owner": "analyst-2"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/posts?lang=n%00l", None),
        ("GET", "/api/posts?source=blue%00sky", None),
        ("GET", "/api/posts?q=lochem%00", None),
        ("GET", "/api/posts/test%3A%00", None),
        ("POST", "/api/monitors", {**MONITOR, "name": "nul\x00"}),
        ("PATCH", "/api/monitors/1", {"purpose": "why\x00"}),
        ("PATCH", "/api/monitors/1", {"owner": "o" * 201}),
    ],
)
def test_text_no_database_can_hold_is_422_on_both(
    client: TestClient, method: str, url: str, body: object
) -> None:
    """PostgreSQL refuses NUL in text and strings over a column's length: 422 on both databases."""
    _problem(client.request(method, url, json=body))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"query": '"' + " ".join(f"w{i}" for i in range(25_000)) + '"'}, "query longer than"),
        ({"query": " OR ".join(f"w{i}" for i in range(501))}, "more than 500 terms"),
        ({"query": '"' + "rook " * 33 + '"'}, "phrase longer than 32 words"),
        ({"places": [f"p{i}" for i in range(520)]}, "more than 500 terms"),
    ],
)
def test_monitors_with_oversized_queries_are_422_with_a_column(
    client: TestClient, change: dict[str, object], says: str
) -> None:
    """The live matcher compiles every monitor's query: the parser's limits keep it bounded."""
    created = client.post("/api/monitors", json={**MONITOR, "name": "groot", **change})
    assert created.status_code == 422, created.text
    assert says in created.json()["detail"]
    assert isinstance(created.json()["column"], int)
    patched = client.patch("/api/monitors/1", json=change)
    assert patched.status_code == 422
    assert says in patched.json()["detail"]
    assert [m["name"] for m in client.get("/api/monitors").json()] == ["lochem"]
