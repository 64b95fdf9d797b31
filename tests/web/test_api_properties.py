"""No route answers 5xx to anything, valid or not, that a client can send: Schemathesis draws
requests from the app's own OpenAPI schema (issue 7) and sends them to the real app on a real
database with posts and a monitor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from stadspuls.web.app import create_app
from tests.query.corpus import SYNTHETIC, enrich, store
from tests.support.accounts import bearer

MONITOR = {
    "name": "lochem",
    "query": "brand* OR #stratumseind",
    "purpose": "fire watch",
    "legal_basis": "public-task",
}
HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


# The schema and the credentials every generated request carries.
Api = tuple[schemathesis.BaseSchema, dict[str, str]]


def _schema(settings: Settings, engine: sa.Engine) -> Api:
    store(engine, enrich(SYNTHETIC))  # posts as the door leaves them: tags, mentions, places
    app = create_app(settings, engine=engine)
    # An admin who may re-identify reaches every route's code (a viewer stops at 403).
    headers = bearer(engine, "admin", reidentify=True)
    created = TestClient(app, headers=headers).post("/api/monitors", json=MONITOR)
    assert created.status_code == 201
    return schemathesis.openapi.from_asgi("/openapi.json", app), headers


@pytest.fixture
def sqlite_schema(settings: Settings) -> Iterator[Api]:
    engine = open_store(settings.db_url)
    yield _schema(settings, engine)
    engine.dispose()


@pytest.fixture
def any_schema(settings: Settings, engine: sa.Engine) -> Api:
    return _schema(settings, engine)


def _run_every_operation(api: Api, mode: GenerationMode, examples: int) -> list[str]:
    """Schemathesis's pytest plugin (`from_fixture`) does not run on pytest 9, so Hypothesis
    drives its strategies here, one operation after the other."""
    schema, headers = api
    tried = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, suppress_health_check=HEALTH)
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(checks=[not_a_server_error], headers=headers)

        try:
            check()
        except Unsatisfiable:
            # Only when every input of the operation accepts anything: nothing to send wrong.
            if mode is not GenerationMode.NEGATIVE:
                raise
    return tried


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_route_answers_a_server_error(sqlite_schema: Api, mode: GenerationMode) -> None:
    tried = _run_every_operation(sqlite_schema, mode, examples=15)
    assert {"GET /api/posts", "PATCH /api/monitors/{monitor_id}", "GET /health"} <= set(tried)
    assert len(tried) == 75


@pytest.fixture
def selected_with_m_slow(request: pytest.FixtureRequest) -> None:
    """The default run selects every marker: a ~9-minute run waits until it is asked for."""
    if "slow" not in request.config.option.markexpr:
        pytest.skip("a long run: select it with -m slow")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_route_answers_a_server_error_long_run(
    selected_with_m_slow: None, any_schema: Api, mode: GenerationMode
) -> None:
    """The same on both databases, with 500 examples per operation (-m slow)."""
    _run_every_operation(any_schema, mode, examples=500)
