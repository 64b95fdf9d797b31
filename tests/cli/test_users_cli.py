from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stadspuls.access import passwords
from stadspuls.cli.main import main
from stadspuls.store import audit
from stadspuls.store import users as store
from stadspuls.store.database import open_store

PASSWORD = "a long enough passphrase"


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    return ["--db", f"sqlite:///{tmp_path / 's.db'}"]


def _run(db: list[str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["user", *args, *db], input=input)


def _actions(db: list[str]) -> list[tuple[str, str, str | None]]:
    engine = open_store(db[1])
    try:
        _total, entries = audit.list_entries(engine, limit=100)
    finally:
        engine.dispose()
    return [
        (e.action, e.actor, None if e.details is None else str(e.details.get("user")))
        for e in sorted(entries, key=lambda e: e.id or 0)
    ]


def test_add_asks_the_password_twice_and_audits(db: list[str]) -> None:
    mismatch = _run(db, "add", "anna", "--role", "admin", input=f"{PASSWORD}\nother one entirely\n")
    assert mismatch.exit_code != 0
    added = _run(db, "add", "anna", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert "added anna (admin)" in added.output
    engine = open_store(db[1])
    found = store.credentials(engine, "anna")
    engine.dispose()
    assert found is not None
    user, stored = found
    assert user.role == "admin"
    assert not user.reidentify
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, PASSWORD).ok
    assert _actions(db) == [("user.add", f"cli:{getpass.getuser()}", "anna")]


def test_add_refuses_a_short_password_and_a_duplicate(db: list[str]) -> None:
    short = _run(db, "add", "anna", "--password-stdin", input="short\n")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    assert _run(db, "add", "anna", "--password-stdin", input=f"{PASSWORD}\n").exit_code == 0
    again = _run(db, "add", "anna", "--password-stdin", input=f"{PASSWORD}\n")
    assert again.exit_code == 1
    assert "exists already" in again.output
    bad = _run(db, "add", "two words", "--password-stdin", input=f"{PASSWORD}\n")
    assert bad.exit_code == 1
    assert "no spaces" in bad.output
    assert [a for a, _, _ in _actions(db)] == ["user.add"]


def test_list_role_reidentify_disable_enable_passwd_token_totp_reset(db: list[str]) -> None:
    assert "stadspuls user add NAME --role admin" in _run(db, "list").output
    _run(db, "add", "anna", "--role", "analyst", "--password-stdin", input=f"{PASSWORD}\n")
    _run(
        db,
        "add",
        "bob",
        "--reidentify",
        "--display-name",
        "Bob B.",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    table = _run(db, "list").output.splitlines()
    assert table[0].split() == ["user", "role", "re-identify", "totp", "active", "last", "login"]
    assert table[1].split() == ["anna", "analyst", "no", "off", "yes", "never"]
    assert table[2].split() == ["bob", "viewer", "yes", "off", "yes", "never"]

    assert _run(db, "role", "anna", "admin").exit_code == 0
    assert _run(db, "role", "anna", "boss").exit_code == 2
    assert _run(db, "reidentify", "anna", "on").exit_code == 0
    assert _run(db, "disable", "bob").exit_code == 0
    rows = json.loads(_run(db, "list", "--json").output)
    assert [(r["username"], r["role"], r["reidentify"], r["active"]) for r in rows] == [
        ("anna", "admin", True, True),
        ("bob", "viewer", True, False),
    ]
    assert rows[1]["display_name"] == "Bob B."
    # The last active admin cannot be disabled (nobody could then manage users on the web).
    last = _run(db, "disable", "anna")
    assert last.exit_code == 1
    assert "last active admin" in last.output
    assert _run(db, "enable", "bob").exit_code == 0

    new_password = "another long passphrase"
    assert _run(db, "passwd", "bob", "--password-stdin", input=f"{new_password}\n").exit_code == 0
    token = _run(db, "token", "bob", "--name", "grafana")
    assert token.exit_code == 0
    secret = token.stdout.strip()
    assert secret.startswith("sp_")
    engine = open_store(db[1])
    actor = store.actor_for_token(engine, secret)
    found = store.credentials(engine, "bob")
    engine.dispose()
    assert actor is not None
    assert actor.username == "bob"
    assert found is not None
    assert passwords.verify(found[1], new_password).ok
    assert _run(db, "totp-reset", "bob").exit_code == 0
    assert _run(db, "disable", "nobody").exit_code == 1

    assert [(a, u) for a, _, u in _actions(db)] == [
        ("user.add", "anna"),
        ("user.add", "bob"),
        ("user.role", "anna"),
        ("user.reidentify", "anna"),
        ("user.disable", "bob"),
        ("user.enable", "bob"),
        ("user.passwd", "bob"),
        ("token.add", "bob"),
        ("user.totp", "bob"),
    ]
