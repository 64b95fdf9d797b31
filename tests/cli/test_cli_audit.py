"""The command line reads through the read service: what it shows is audited under the OS
login name, and a handle is looked up only with a stated reason."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.store.audit import list_entries
from stadspuls.store.database import open_store
from tests.factories import IMPORT


def test_search_and_monitors_are_audited_under_the_login_name(tmp_path: Path) -> None:
    data = tmp_path / "posts.csv"
    data.write_text(
        "id,text,created_at,author\n"
        "1,Brand bij @wachtpost in Lochem,2026-11-23T10:00:00Z,a\n"
        "2,Rustig op Stratumseind,2026-11-23T11:00:00Z,b\n"
    )
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}"]
    env = {"STADSPULS_KEY_FILE": str(tmp_path / "key"), "LOGNAME": "wachtcommandant"}
    runner = CliRunner()
    ingested = runner.invoke(main, ["ingest", str(data), *db, "-q", *IMPORT], env=env)
    assert ingested.exit_code == 0, ingested.output
    found = runner.invoke(main, ["search", "brand", *db], env=env)
    assert "Brand bij" in found.output
    unreasoned = runner.invoke(main, ["search", "@wachtpost", *db], env=env)
    assert unreasoned.exit_code == 1
    assert "(--reason)" in unreasoned.output
    handle = runner.invoke(main, ["search", "@wachtpost", "--reason", "threat", *db], env=env)
    assert "Brand bij" in handle.output
    added = runner.invoke(
        main,
        ["monitor", "add", "lochem", "lochem", "--purpose", "p", "--basis", "public-task", *db],
        env=env,
    )
    assert added.exit_code == 0, added.output
    shown = runner.invoke(main, ["monitor", "show", "lochem", "--last", "1", *db], env=env)
    assert "owner wachtcommandant" in shown.output
    engine = open_store(db[1])
    _, entries = list_entries(engine)
    engine.dispose()
    assert [(e.action, e.actor, e.posts, e.reason) for e in reversed(entries)] == [
        ("posts.view", "wachtcommandant", 1, None),
        ("reidentify", "wachtcommandant", 0, "threat"),
        ("posts.view", "wachtcommandant", 1, None),
        ("monitor.add", "wachtcommandant", 0, None),
        ("posts.view", "wachtcommandant", 1, None),
    ]
