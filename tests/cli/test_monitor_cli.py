from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stadspuls.cli.main import main


def test_monitor_lifecycle_on_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}"]
    env = {"STADSPULS_KEY_FILE": str(tmp_path / "key"), "STADSPULS_DOOR_PROCESS": "false"}
    data = tmp_path / "posts.csv"
    data.write_text(
        "text,created_at\n"
        "Brand in een loods in Lochem,2025-11-23T10:00:00Z\n"
        "Dijk bij Lochem houdt het,2025-11-23T10:30:00Z\n"
        "Rustig op Stratumseind,2025-11-23T11:00:00Z\n"
    )
    purpose = ["--purpose", "safety review", "--basis", "public-task", "--retention-days", "7"]
    ingested = runner.invoke(main, ["ingest", str(data), "-q", *purpose, *db], env=env)
    assert ingested.exit_code == 0, ingested.output
    no_purpose = runner.invoke(main, ["monitor", "add", "lochem", "lochem", *db], env=env)
    assert no_purpose.exit_code == 2
    assert "--purpose" in no_purpose.output
    added = runner.invoke(
        main,
        [
            "monitor",
            "add",
            "lochem",
            "lochem",
            "--purpose",
            "flood watch",
            "--basis",
            "public-task",
            *db,
        ],
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert "2 stored posts match" in added.output
    bad = runner.invoke(
        main,
        [
            "monitor",
            "add",
            "x",
            "brand NEAR/x loods",
            "--purpose",
            "p",
            "--basis",
            "public-task",
            *db,
        ],
        env=env,
    )
    assert bad.exit_code == 1
    assert "column" in bad.output
    listed = runner.invoke(main, ["monitor", "list", *db], env=env)
    assert "lochem: 2 posts" in listed.output
    shown = runner.invoke(main, ["monitor", "show", "lochem", "--hours", "3", *db], env=env)
    assert "Dijk bij Lochem" in shown.output
    assert "Public task" in shown.output
    edited = runner.invoke(main, ["monitor", "edit", "lochem", "--query", "brand", *db], env=env)
    assert "1 stored posts match" in edited.output
    assert runner.invoke(main, ["monitor", "rm", "lochem", *db], env=env).exit_code == 0
    assert "no monitors yet" in runner.invoke(main, ["monitor", "list", *db], env=env).output
    retention = runner.invoke(main, ["retention", "run", *db], env=env)
    assert retention.exit_code == 0
    # Year-old posts matched by no monitor, but imported today for 7 days: nothing goes yet.
    assert "deleted 0 posts" in retention.output
