"""Mastodon API responses recorded from a real Mastodon server (Mastodon.py's test cassettes,
see tests/fixtures/README.md) through `stadspuls ingest`: what is public is stored under keyed
ids and pseudonyms, what is not (followers-only, direct) never is, and the status a
DELETE /api/v1/statuses/:id returns removes the stored post and leaves a tombstone.

Expected ids are built from the payloads as the Mastodon source documents them (the uri without
its scheme), not by calling the mapping, so that a mapping that drifts from them fails here.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.records import Deletion
from stadspuls.sources.files import detect_format, iter_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
STATUSES = FIXTURES / "mastodon_py_statuses.json"
DELETE = FIXTURES / "mastodon_py_delete.json"
IMPORT = ("--purpose", "x", "--basis", "public-task", "--retention-days", "30")
# The API's visibilities that anyone may read; "private" (followers-only) and "direct" are not.
PUBLIC = ("public", "unlisted")


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "STADSPULS_KEY_FILE": str(tmp_path / "key"),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_DOOR_PROCESS": "false",
        "STADSPULS_ENRICHERS": "[]",
    }


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _raw_id(status: dict[str, Any]) -> str:
    """The platform id of a status: "mastodon:" and its ActivityPub uri without the scheme."""
    return "mastodon:" + str(status["uri"]).split("://", 1)[1]


def _acct(account: dict[str, Any]) -> str:
    # A file import does not know the server it came from: the profile url's host qualifies.
    return f"{account['acct']}@{urlsplit(account['url']).hostname}"


def _ingest(tmp_path: Path, db: Path, *paths: Path) -> str:
    args = ["ingest", *map(str, paths), "--db", str(db), "-q", "--restart", *IMPORT]
    result = CliRunner().invoke(main, args, env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def _summary(output: str, path: Path) -> str:
    (line,) = [
        line for line in output.splitlines() if line.startswith(f"{path}: ") and " stored, " in line
    ]
    return line


def _posts(db: Path) -> dict[str, sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {row["id"]: row for row in conn.execute("SELECT * FROM posts")}


def _tombstones(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, deleted_us FROM tombstones").fetchall())


def _pseudonymiser(tmp_path: Path) -> Pseudonymiser:
    """The door's pseudonymiser under the key the import created."""
    return Pseudonymiser(load_or_create_key(Path(_env(tmp_path)["STADSPULS_KEY_FILE"])))


def test_the_recorded_payloads_cover_what_the_tests_rely_on() -> None:
    statuses = _load(STATUSES)
    assert {s["visibility"] for s in statuses} == {"public", "unlisted", "private", "direct"}
    assert any(s["reblog"] for s in statuses)
    assert any(s["in_reply_to_id"] for s in statuses)
    deleted = _load(DELETE)
    assert "text" in deleted
    assert "content" not in deleted
    assert deleted["uri"] in {s["uri"] for s in statuses if s["visibility"] in PUBLIC}


def test_ingest_stores_the_public_and_unlisted_statuses_only(tmp_path: Path) -> None:
    statuses = _load(STATUSES)
    public = [s for s in statuses if s["visibility"] in PUBLIC]
    hidden = Counter(s["visibility"] for s in statuses if s["visibility"] not in PUBLIC)
    db = tmp_path / "s.db"
    output = _ingest(tmp_path, db, STATUSES)

    summary = _summary(output, STATUSES)
    assert summary.startswith(f"{STATUSES}: {len(public)} stored, 0 already stored")
    assert f"0 malformed, {hidden.total()} skipped" in summary
    reasons = ", ".join(f"{n} visibility {v}" for v, n in sorted(hidden.items()))
    assert f"{STATUSES}: not imported, as not public: {reasons}" in output

    pseudo = _pseudonymiser(tmp_path)
    stored = _posts(db)
    assert set(stored) == {pseudo.post_id(_raw_id(s)) for s in public}
    for status in public:
        row = stored[pseudo.post_id(_raw_id(status))]
        assert row["source"] == "mastodon"
        assert row["author_key"] == pseudo.pseudonym(_acct(status["account"]))
        assert row["created_us"] == int(
            datetime.fromisoformat(status["created_at"]).timestamp() * 1_000_000
        )
        assert status["account"]["acct"] not in row["text"]
        assert row["url"] is None or status["account"]["acct"] not in row["url"]


def test_a_boost_is_stored_as_a_repost_with_the_original_text(tmp_path: Path) -> None:
    (boost,) = [s for s in _load(STATUSES) if s["reblog"]]
    assert boost["content"] == ""  # a boost has no text of its own
    assert boost["reblog"]["content"] == "<p>Toot!</p>"
    db = tmp_path / "s.db"
    _ingest(tmp_path, db, STATUSES)
    pseudo = _pseudonymiser(tmp_path)
    row = _posts(db)[pseudo.post_id(_raw_id(boost))]
    assert row["repost_of"] == pseudo.post_id(_raw_id(boost["reblog"]))
    assert row["text"] == "Toot!"


def test_a_reply_keeps_its_mention_only_as_a_pseudonym(tmp_path: Path) -> None:
    statuses = _load(STATUSES)
    (reply,) = [s for s in statuses if s["in_reply_to_id"]]
    parent = next(s for s in statuses if s["id"] == reply["in_reply_to_id"])
    (mentioned,) = reply["mentions"]
    db = tmp_path / "s.db"
    _ingest(tmp_path, db, STATUSES)
    pseudo = _pseudonymiser(tmp_path)
    stored = _posts(db)
    row = stored[pseudo.post_id(_raw_id(reply))]
    assert row["author_key"] == pseudo.pseudonym(_acct(reply["account"]))
    mentions = json.loads(row["mentions"])
    assert pseudo.pseudonym(_acct(mentioned)) in mentions
    assert all(m.startswith("u") and mentioned["acct"] not in m for m in mentions)
    # "@mastodonpy_test same!": the mention in the text is a pseudonym too.
    assert mentioned["acct"] not in row["text"]
    assert row["text"].startswith("@u")
    assert row["text"].endswith(" same!")
    # A file import has no map of the server's local ids, so the reply may stay unresolved;
    # resolved, it points to the parent's stored id.
    assert row["reply_to"] in (None, pseudo.post_id(_raw_id(parent)))


def test_one_mentioned_person_is_one_pseudonym(tmp_path: Path) -> None:
    (reply,) = [s for s in _load(STATUSES) if s["in_reply_to_id"]]
    (mentioned,) = reply["mentions"]
    db = tmp_path / "s.db"
    _ingest(tmp_path, db, STATUSES)
    pseudo = _pseudonymiser(tmp_path)
    row = _posts(db)[pseudo.post_id(_raw_id(reply))]
    assert json.loads(row["mentions"]) == [pseudo.pseudonym(_acct(mentioned))]
    # The text's bare @name is the same person, with the same pseudonym.
    assert f"@{pseudo.pseudonym(_acct(mentioned))}" in row["text"]


def test_the_delete_response_is_recognised_as_a_mastodon_deletion() -> None:
    deleted = _load(DELETE)
    assert detect_format(DELETE) == "mastodon"
    (item,) = list(iter_file(DELETE))
    assert isinstance(item, Deletion)
    assert item.id == _raw_id(deleted)
    assert item.at == datetime.fromisoformat(deleted["created_at"])


def test_importing_the_delete_removes_the_post_and_leaves_a_tombstone(tmp_path: Path) -> None:
    deleted = _load(DELETE)
    db = tmp_path / "s.db"
    _ingest(tmp_path, db, STATUSES)
    before = _posts(db)
    gone = _pseudonymiser(tmp_path).post_id(_raw_id(deleted))
    assert gone in before

    output = _ingest(tmp_path, db, DELETE)
    assert _summary(output, DELETE).startswith(f"{DELETE}: 0 stored, 0 already stored, 1 deleted")
    assert set(_posts(db)) == set(before) - {gone}
    assert set(_tombstones(db)) == {gone}

    # The tombstone keeps the status out when the older file is imported again.
    again = _summary(_ingest(tmp_path, db, STATUSES), STATUSES)
    assert again.startswith(f"{STATUSES}: 0 stored")
    assert "1 deleted by their authors earlier" in again
    assert set(_posts(db)) == set(before) - {gone}
