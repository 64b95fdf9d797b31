"""A database this user may only read: reading commands work, writing ones say so in one line.

Tests run as root, and root ignores file permissions; the commands therefore run as `nobody`
(runuser) on a database and folder that root made read-only, which is what reproduced the
reported traceback.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.store import migrate as migrations

SRC = Path(__file__).resolve().parents[2] / "src"
RUNUSER = shutil.which("runuser") or "runuser"
IMPORT = ["--purpose", "tests", "--basis", "public-task", "--retention-days", "30"]


def _env(folder: Path) -> dict[str, str]:
    return {
        "STADSPULS_KEY_FILE": str(folder / "key"),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_DOOR_PROCESS": "false",
    }


def _nobody_python() -> str:
    """A Python interpreter that `nobody` may run, with this checkout and its packages."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root and runuser to run a command as an unprivileged user")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/python{version}"):
        probe = subprocess.run(
            [RUNUSER, "-u", "nobody", "--", python, "-c", "import stadspuls.cli.main"],
            env={"PYTHONPATH": f"{SRC}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin"},
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return python
    pytest.skip(f"no Python {version} that the user nobody can run with these packages")


@pytest.fixture
def folder() -> Iterator[Path]:
    # Not pytest's tmp_path: its parent folder is private to root.
    path = Path(tempfile.mkdtemp(prefix="stadspuls-ro-"))
    path.chmod(0o755)
    yield path
    path.chmod(0o755)
    shutil.rmtree(path)


def _as_nobody(python: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **_env(folder),
        "PYTHONPATH": f"{SRC}:{sysconfig.get_paths()['purelib']}",
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder),
    }
    return subprocess.run(
        [RUNUSER, "-u", "nobody", "--", python, "-m", "stadspuls.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=folder,
    )


def _filled(folder: Path) -> Path:
    data = folder / "posts.csv"
    data.write_text(
        "id,text,created_at,author\n"
        "1,Brand in een loods in Lochem,2026-11-23T10:00:00Z,a\n"
        "2,Rustig op Stratumseind,2026-11-23T11:00:00Z,b\n"
    )
    db = folder / "s.db"
    result = CliRunner().invoke(
        main, ["ingest", str(data), "--db", str(db), "-q", *IMPORT], env=_env(folder)
    )
    assert result.exit_code == 0, result.output
    db.chmod(0o444)
    return db


@pytest.mark.slow
@pytest.mark.parametrize("folder_mode", [0o555, 0o777], ids=["read-only-folder", "open-folder"])
def test_reading_commands_work_on_a_read_only_database(folder: Path, folder_mode: int) -> None:
    python = _nobody_python()
    db = _filled(folder)
    folder.chmod(folder_mode)
    counted = _as_nobody(python, folder, "search", "--count", "--db", str(db))
    assert counted.stdout.strip() == "2", counted.stderr
    for command in (
        ["monitor", "list"],
        ["alerts", "list"],
        ["retention", "log"],
        ["sources", "list"],
    ):
        done = _as_nobody(python, folder, *command, "--db", str(db))
        assert done.returncode == 0, (command, done.stderr)
    # Showing post texts, and looking up a handle, write an audit row: one line says so.
    for command in (["search", "lochem"], ["search", "@someone", "--count", "--reason", "test"]):
        refused = _as_nobody(python, folder, *command, "--db", str(db))
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"Error: database {db} is read-only for this user")
        assert "showing post texts writes an audit row" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("folder_mode", [0o555, 0o777], ids=["read-only-folder", "open-folder"])
def test_writing_commands_say_the_database_is_read_only(folder: Path, folder_mode: int) -> None:
    python = _nobody_python()
    db = _filled(folder)
    folder.chmod(folder_mode)
    for command in (
        ["ingest", str(folder / "posts.csv"), "--restart", "-q", *IMPORT],
        ["retention", "run"],
    ):
        result = _as_nobody(python, folder, *command, "--db", str(db))
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"Error: database {db} is read-only for this user")
        assert len(result.stderr.strip().splitlines()) == 1
    db.chmod(0o644)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (2,)


def test_reading_a_database_without_the_newest_schema_gives_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = runner.invoke(main, ["search", "--count", "--db", str(empty)], env=_env(tmp_path))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {empty} holds no Stadspuls database yet")
    old = tmp_path / "old.db"
    assert runner.invoke(main, ["db", "upgrade", "0002", "--db", str(old)]).exit_code == 0
    result = runner.invoke(main, ["monitor", "list", "--db", str(old)], env=_env(tmp_path))
    assert result.exit_code == 1
    head = migrations.head_revision()  # a new migration must not break this test
    assert f"has schema revision 0002, this version needs {head}" in result.output
    missing = runner.invoke(main, ["search", "--db", str(tmp_path / "no.db")], env=_env(tmp_path))
    assert missing.output == f"Error: no database at {tmp_path / 'no.db'} yet\n"
    assert not (tmp_path / "no.db").exists()


def test_a_file_that_is_no_database_gives_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("boodschappen: brood, melk, kaas\n" * 200)
    for command in (["search", "--count"], ["retention", "run"]):
        result = CliRunner().invoke(main, [*command, "--db", str(notes)], env=_env(tmp_path))
        assert result.exit_code == 1
        assert result.output == f"Error: cannot open database {notes}: file is not a database\n"
