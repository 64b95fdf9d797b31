"""`stadspuls ingest` resumes a file by its content, not its name: a name reused for a new
export is read from the start, the very same file again is not read twice."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stadspuls.cli.main import main
from tests.factories import IMPORT

# An import needs a purpose, a legal basis and a retention period.


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_DOOR_PROCESS": "false",
    }


def _export(path: Path, first: int, count: int) -> Path:
    rows = [
        f"r{n},Bericht {n} over de brand in de haven,2026-11-23T{n % 24:02d}:{n % 60:02d}:00Z\n"
        for n in range(first, first + count)
    ]
    path.write_text("id,text,created_at\n" + "".join(rows))
    return path


def test_a_reused_file_name_with_new_content_is_read_from_the_start(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 's.db'}"
    env = _env(tmp_path)
    path = _export(tmp_path / "export.csv", 0, 100)
    first = runner.invoke(main, ["ingest", str(path), "--db", db, "-q", *IMPORT], env=env)
    assert first.exit_code == 0, first.output
    assert "stored 100 new posts" in first.output
    same = runner.invoke(main, ["ingest", str(path), "--db", db, "-q", *IMPORT], env=env)
    assert "already imported up to item 100" in same.output
    _export(path, 100, 150)  # next week's export, under the same name
    second = runner.invoke(main, ["ingest", str(path), "--db", db, "-q", *IMPORT], env=env)
    assert second.exit_code == 0, second.output
    assert "stored 150 new posts" in second.output
    count = runner.invoke(main, ["search", "--count", "--db", db], env=env)
    assert count.output.strip() == "250"
