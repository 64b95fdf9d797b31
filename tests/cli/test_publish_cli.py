"""`stadspuls publish …`: list, show, approve, reject, cancel, crisis, templates, deliver, acting
as the OS login name with an admin's rights."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from stadspuls.cli.main import main
from stadspuls.publish import runner
from stadspuls.publish.records import Publication, PublishTemplate
from stadspuls.publish.service import PublishService
from stadspuls.records import Actor
from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from tests.publish.conftest import FakeTarget

ANN = Actor(user_id=None, username="ann", role="analyst", via="token")
CHIEF = Actor(user_id=None, username="chief", role="admin", via="token")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # the keys go to ./var/secrets
    url = f"sqlite:///{tmp_path / 's.db'}"
    monkeypatch.setenv("STADSPULS_DB_URL", url)
    return url


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["publish", *args])


def _service(url: str) -> tuple[sa.Engine, PublishService]:
    engine = open_store(url)
    targets = {"mastodon": FakeTarget("mastodon")}
    return engine, PublishService(engine, Settings(db_url=url), targets=targets)


def _pending(url: str, title: str = "Brand Vaartsche Rijn") -> int:
    engine, service = _service(url)
    created = service.create(
        ANN, Publication(title=title, body="Sluit ramen en deuren.", targets=("mastodon",))
    )
    assert created.id is not None
    service.submit(ANN, created.id)
    engine.dispose()
    return created.id


def test_list_show_and_approve_someone_elses(db: str) -> None:
    assert _run("list").output.strip() == "no publications"
    first = _pending(db)
    listed = _run("list", "--state", "pending")
    assert listed.exit_code == 0, listed.output
    assert f"{first:>6}  pending" in listed.output
    assert "Brand Vaartsche Rijn" in listed.output
    approved = _run("approve", str(first))
    assert approved.exit_code == 0, approved.output
    assert approved.output.strip() == f"publication {first}: published"
    shown = _run("show", str(first), "--json")
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert found["publication"]["approved_by"] == getpass.getuser()
    assert [e["kind"] for e in found["events"]] == ["created", "submitted", "approved", "published"]
    assert [(d["target"], d["state"]) for d in found["deliveries"]] == [("mastodon", "pending")]
    again = _run("approve", str(first))
    assert again.exit_code == 1
    assert "a published publication cannot be approved" in again.output


def test_reject_needs_a_reason_and_cancel(db: str) -> None:
    first = _pending(db)
    assert _run("reject", str(first)).exit_code == 2  # --reason is required
    blank = _run("reject", str(first), "--reason", " ")
    assert blank.exit_code == 1
    assert "(reason)" in blank.output
    assert _run("reject", str(first), "--reason", "Noem de straat").exit_code == 0
    assert _run("cancel", str(first)).exit_code == 0
    text = _run("show", str(first)).output
    assert "cancelled" in text
    assert "Noem de straat" in text
    missing = _run("show", "999")
    assert missing.exit_code == 1
    assert "no publication 999" in missing.output


def test_crisis_mode_from_the_command_line(db: str) -> None:
    _pending(db)  # creates the database
    assert _run("crisis").output.strip() == "no crisis mode"
    declared = _run("crisis", "--declare", "Grote brand", "--hours", "2")
    assert declared.exit_code == 0, declared.output
    assert "Grote brand" in declared.output
    assert "declared by" in _run("crisis").output
    too_long = _run("crisis", "--declare", "x", "--hours", "100")
    assert too_long.exit_code == 1
    assert "(hours)" in too_long.output
    assert _run("crisis", "--end").output.strip() == "crisis mode ended"
    assert _run("crisis", "--end").exit_code == 1
    assert _run("crisis", "--declare", "x", "--end").exit_code == 2


def test_templates_and_deliver(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _pending(db)
    engine, service = _service(db)
    service.save_template(CHIEF, PublishTemplate(name="brand", title="Brand in {plaats}",
                                                 body="Er is brand in {plaats}."))  # fmt: skip
    service.approve(CHIEF, first)
    engine.dispose()
    assert "brand" in _run("templates").output
    target = FakeTarget("mastodon")
    monkeypatch.setattr(runner, "build_targets", lambda settings, engine: {"mastodon": target})
    delivered = _run("deliver")
    assert delivered.exit_code == 0, delivered.output
    assert delivered.output.strip() == "1 sent"
    assert [p for p, _ in target.sent] == [first]
    assert target.closed
    assert _run("deliver").output.strip() == "nothing due"
