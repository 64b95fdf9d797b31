from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key

TEXTS = [
    "Brand in een loods aan de Industrieweg in Lochem",
    "Dijk bij Lochem houdt het, waterschap blijft controleren",
    "Gezellige drukte op Stratumseind vanavond",
    "Stroomstoring in Groningen na vuurwerk",
    "Politie zoekt getuigen van schietpartij in Rotterdam",
]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_BLUESKY__ENABLED": "false",
        # The door in a child process costs a few seconds to start; the kill -9 test uses it.
        "STADSPULS_DOOR_PROCESS": "false",
    }


def _csv(path: Path, rows: int) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at", "author", "lang"])
        for n in range(rows):
            writer.writerow(
                [n, f"{TEXTS[n % 5]} ({n})", f"2026-11-23T{n % 24:02d}:00:00Z", f"a{n}", "nl"]
            )
    return path


IMPORT = ["--purpose", "tests", "--basis", "public-task", "--retention-days", "30"]


def test_ingest_then_search_and_count(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 's.db'}"
    env = _env(tmp_path)
    data = _csv(tmp_path / "posts.csv", 50)
    result = runner.invoke(main, ["ingest", str(data), "--db", db, "-q", *IMPORT], env=env)
    assert result.exit_code == 0, result.output
    assert "stored 50 new posts" in result.output
    again = runner.invoke(main, ["ingest", str(data), "--db", db, "-q", *IMPORT], env=env)
    assert "already imported up to item 50" in again.output
    forced = runner.invoke(
        main, ["ingest", str(data), "--db", db, "-q", "--restart", *IMPORT], env=env
    )
    assert "stored 0 new posts; 50 were already stored" in forced.output
    count = runner.invoke(main, ["search", "--count", "--db", db], env=env)
    assert count.output.strip() == "50"
    lochem = runner.invoke(main, ["search", "lochem", "--count", "--db", db], env=env)
    assert lochem.output.strip() == "20"
    listing = runner.invoke(main, ["search", "schietpartij", "--limit", "2", "--db", db], env=env)
    assert listing.exit_code == 0
    assert listing.output.count("schietpartij") == 2
    bad = runner.invoke(main, ["search", "(lochem OR", "--db", db], env=env)
    assert bad.exit_code == 1
    assert "column" in bad.output
    assert "Traceback" not in bad.output


def test_ingest_reports_malformed_rows_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        handle.write("text,created_at\n")
        handle.write("goed bericht,2026-11-23T10:00:00Z\n")
        handle.write("slechte datum,gisteren\n")
        handle.write("nog een goed bericht,2026-11-23T11:00:00Z\n")
    result = CliRunner().invoke(
        main,
        ["ingest", str(path), "--db", f"sqlite:///{tmp_path / 's.db'}", "-q", *IMPORT],
        env=_env(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert "stored 2 new posts" in result.output
    assert "skipped 1 malformed" in result.output


def test_db_upgrade_and_bad_url(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["db", "upgrade", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert ok.exit_code == 0
    assert "-> 0" in ok.output
    bad = runner.invoke(main, ["search", "--count", "--db", "mysql://nope/x"], env=_env(tmp_path))
    assert bad.exit_code == 1
    assert "unsupported database URL" in bad.output


def _jetstream_file(path: Path, n: int) -> list[str]:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    ids = []
    with path.open("w") as handle:
        for i in range(n):
            created = start + timedelta(seconds=i)
            did = f"did:plc:test{i % 17:04d}"
            rkey = f"3lrkey{i:07d}"
            ids.append(f"bluesky:{did}/{rkey}")
            event = {
                "did": did,
                "time_us": int(created.timestamp() * 1e6),
                "kind": "commit",
                "commit": {
                    "rev": f"3lrev{i:07d}",
                    "operation": "create",
                    "collection": "app.bsky.feed.post",
                    "rkey": rkey,
                    "record": {
                        "$type": "app.bsky.feed.post",
                        "createdAt": created.isoformat().replace("+00:00", "Z"),
                        "langs": ["nl"],
                        "text": f"{TEXTS[i % 5]} #{i}",
                    },
                    "cid": f"bafyreitest{i}",
                },
            }
            handle.write(json.dumps(event) + "\n")
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stored_ids(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute("SELECT id FROM posts")]
    except sqlite3.OperationalError:
        return []  # the schema is still being created


@pytest.mark.slow
def test_replay_killed_with_sigkill_and_restarted_stores_every_post_once(tmp_path: Path) -> None:
    recording = tmp_path / "jetstream.jsonl"
    expected = _jetstream_file(recording, 3000)
    db = tmp_path / "s.db"
    env = {
        **os.environ,
        **_env(tmp_path),
        "STADSPULS_BATCH_SECONDS": "0.05",
        "STADSPULS_BATCH_SIZE": "100",
    }
    command = [
        sys.executable, "-m", "stadspuls.cli", "run", "--db", f"sqlite:///{db}",
        "--replay", str(recording), "--speed", "1000",
    ]  # fmt: skip
    log = (tmp_path / "run.log").open("wb")
    first = subprocess.Popen([*command, "--port", str(_free_port())], env=env, stderr=log)
    deadline = time.monotonic() + 60
    while len(_stored_ids(db)) < 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    partial = len(_stored_ids(db))
    assert 0 < partial < len(expected), "the kill should land mid-replay"
    second = subprocess.Popen([*command, "--port", str(_free_port())], env=env, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while len(_stored_ids(db)) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # anything doubled or late would show up now
        stored = _stored_ids(db)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)
        log.close()
    assert len(stored) == len(expected), (tmp_path / "run.log").read_text()
    keyed = Pseudonymiser(load_or_create_key(tmp_path / "key")).post_id
    assert sorted(stored) == sorted(map(keyed, expected))
