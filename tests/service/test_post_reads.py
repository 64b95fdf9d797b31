"""The read service's post texts: role checks, one audit row per view in the read's
transaction, re-identification only with the permission and a reason, sealed links opened only
with a reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from stadspuls.access.roles import Forbidden
from stadspuls.cli.common import pseudonym_function
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import Actor
from stadspuls.service.errors import NotFound, ReasonRequired
from stadspuls.service.reads import ReadService
from stadspuls.settings import Settings
from stadspuls.store.audit import list_entries
from tests.factories import make_post, stored_id

VIEWER = Actor(user_id=None, username="vera", role="viewer")
ANALYST = Actor(user_id=None, username="anna", role="analyst")
REIDENTIFIER = Actor(user_id=None, username="rik", role="analyst", reidentify=True)


@pytest.fixture
def reads(settings: Settings, engine: sa.Engine) -> ReadService:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process(
        [
            make_post(1, "Brand bij @wachtpost in Eindhoven", source="mastodon"),
            make_post(2, "Rook boven de stad", url="https://x.com/demo/status/2"),
            make_post(3, "Niets bijzonders vandaag"),
        ]
    )
    pipeline.close()
    return ReadService(engine, settings, pseudonymise=pseudonym_function(settings))


def _actions(engine: sa.Engine) -> list[tuple[str, str, int, str | None]]:
    _, entries = list_entries(engine, limit=1000)
    return [(e.action, e.actor, e.posts, e.reason) for e in reversed(entries)]


def test_a_viewer_gets_no_post_texts(reads: ReadService, engine: sa.Engine) -> None:
    with pytest.raises(Forbidden):
        reads.posts(VIEWER)
    with pytest.raises(Forbidden):
        reads.post(VIEWER, stored_id(reads.settings, "test:1"))
    with pytest.raises(Forbidden):
        reads.open_link(VIEWER, stored_id(reads.settings, "test:2"), "checking")
    assert _actions(engine) == []


def test_every_view_of_texts_is_audited_with_its_count(
    reads: ReadService, engine: sa.Engine
) -> None:
    page = reads.posts(ANALYST, limit=2)
    assert page.total == 3
    assert len(page.posts) == 2
    assert all(p.author and p.author.startswith("u") for p in page.posts)
    found = reads.posts(ANALYST, query="rook OR brand")
    assert {p.id for p in found.posts} == {stored_id(reads.settings, f"test:{n}") for n in (1, 2)}
    one = reads.post(ANALYST, stored_id(reads.settings, "test:3"))
    assert one.text == "Niets bijzonders vandaag"
    assert _actions(engine) == [
        ("posts.view", "anna", 2, None),
        ("posts.view", "anna", 2, None),
        ("posts.view", "anna", 1, None),
    ]
    _, entries = list_entries(engine, actions=["posts.view"])
    assert entries[1].query == "rook OR brand"


def test_a_handle_needs_the_permission_and_a_reason(reads: ReadService, engine: sa.Engine) -> None:
    resolved: list[str] = []
    original = reads.pseudonymise

    def spy(handle: str) -> str:
        resolved.append(handle)
        return original(handle)

    reads.pseudonymise = spy
    with pytest.raises(Forbidden, match="turn a handle into its pseudonym"):
        reads.posts(ANALYST, query="brand @wachtpost", reason="incident 12")
    with pytest.raises(ReasonRequired):
        reads.posts(REIDENTIFIER, query="brand @wachtpost", reason="  ")
    assert resolved == []
    assert _actions(engine) == []
    page = reads.posts(REIDENTIFIER, query="brand @wachtpost", reason="incident 12")
    assert [p.id for p in page.posts] == [stored_id(reads.settings, "test:1")]
    assert resolved == ["wachtpost"]
    assert _actions(engine) == [
        ("reidentify", "rik", 0, "incident 12"),
        ("posts.view", "rik", 1, None),
    ]


def test_the_original_link_opens_only_with_a_reason(reads: ReadService, engine: sa.Engine) -> None:
    with_link = stored_id(reads.settings, "test:2")
    assert reads.post(ANALYST, with_link).has_link
    with pytest.raises(ReasonRequired):
        reads.open_link(ANALYST, with_link, "")
    assert reads.open_link(ANALYST, with_link, "verify the source") == "https://x.com/demo/status/2"
    with pytest.raises(NotFound):
        reads.open_link(ANALYST, stored_id(reads.settings, "test:3"), "no link there")
    assert _actions(engine)[-1] == ("link.open", "anna", 1, "verify the source")


def test_a_query_error_names_its_column(reads: ReadService) -> None:
    with pytest.raises(QuerySyntaxError) as error:
        reads.check_query(ANALYST, "brand AND (rook")
    assert error.value.column > 0
