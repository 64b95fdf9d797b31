"""A pseudonymised store holds no raw identity: real-format exports of every platform go through
`stadspuls ingest`, then every byte of the database (the SQLite files, or a `pg_dump`) and the
output of `stadspuls search` are scanned for every handle, DID, user id and profile URL that
the input holds. Statuses that are not public (followers-only, direct) are not stored at all.
"""

from __future__ import annotations

import copy
import glob
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.store.audit import list_entries
from stadspuls.store.database import open_store
from tests.factories import IMPORT

# An import needs a purpose, a legal basis and a retention period.

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
INPUTS = (
    "jetstream_events.jsonl",
    "mastodon_statuses.json",
    "twitter_v2.jsonl",
    "twarc2_mentions.jsonl",
    "twarc2_pages.jsonl",
    "fourcat_export.ndjson",
    "zeeschuimer_x.ndjson",
    "jetstream_other_events.jsonl",
    "mastodon_py_statuses.json",
    "mastodon_py_delete.json",
)
# Keys whose value names an account, whatever object holds them.
_IDENTITY_KEYS = {
    "did", "handle", "acct", "username", "uniqueId", "screen_name", "author_id",
    "in_reply_to_user_id", "in_reply_to_account_id",
}  # fmt: skip
# Objects that are accounts: their id and URLs name the account too.
_ACCOUNT_KEYS = {"account", "user", "author", "owner"}
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._%-]*[A-Za-z0-9]")
_TEXT_MENTION = re.compile(r"(?<![\w/])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_])")
_HASHTAG = re.compile(r"#(\w+)")


def _not_public(statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of a recorded status as followers-only and direct statuses of another account."""
    out = []
    for n, visibility in enumerate(("private", "direct"), start=1):
        status = copy.deepcopy(statuses[0])
        status["id"] = f"11352600000000990{n}"
        status["visibility"] = visibility
        status["uri"] = f"https://mastodon.nl/users/geheimevolger/statuses/{status['id']}"
        status["url"] = f"https://mastodon.nl/@geheimevolger/{status['id']}"
        status["content"] = "<p>Alleen voor volgers: geheimwoord</p>"
        status["account"].update(
            id="109399999999999999", username="geheimevolger", acct="geheimevolger",
            url="https://mastodon.nl/@geheimevolger",
        )  # fmt: skip
        out.append(status)
    return out


def _records(path: Path) -> Iterator[Any]:
    text = path.read_text()
    if path.suffix == ".json":
        document = json.loads(text)
        yield from document if isinstance(document, list) else [document]
    else:
        yield from (json.loads(line) for line in text.splitlines() if line.strip())


def _walk(value: Any, parent: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield parent, key, item
            yield from _walk(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, parent)


def _names_account(parent: str, key: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    if key in _IDENTITY_KEYS or (key == "author" and isinstance(value, str)):
        return True
    if parent in _ACCOUNT_KEYS | {"mentions", "users"} and key in ("id", "url"):
        return True
    # A profile or status URL anywhere.
    return (
        isinstance(value, str)
        and value.startswith("http")
        and ("/users/" in value or "/@" in value)
    )


def identities(paths: list[Path]) -> set[str]:
    """Every handle, DID, user id and profile URL in the inputs, found by reading them."""
    found: set[str] = set()
    hashtags: set[str] = set()
    for path in paths:
        found.update(_DID.findall(path.read_text()))
        for record in _records(path):
            for parent, key, value in _walk(record):
                if isinstance(value, str):
                    hashtags.update(t.lower() for t in _HASHTAG.findall(value))
                    found.update(_TEXT_MENTION.findall(value))
                if _names_account(parent, key, value):
                    found.add(str(value))
    for value in list(found):
        # "name@host" is also written as "@name" on its own server and in its profile path.
        if "@" in value.lstrip("@") and "://" not in value:
            found.add(value.lstrip("@").split("@")[0])
        if value.startswith("http"):
            found.update(_TEXT_MENTION.findall(value))
            found.update(re.findall(r"/users/([^/]+)", value))
    # A brand's handle that is also a hashtag of the post (@Xbox … #Xbox) is a word there.
    names = {v.lstrip("@") for v in found}
    return {v for v in names if v and v.lower() not in hashtags}


def leaks(data: bytes, needles: set[str]) -> list[str]:
    """The needles that occur in `data` as a whole token (not inside a longer run of letters,
    digits, `_` or `-`, which random sealed or hashed values are made of)."""
    return sorted(
        needle
        for needle in needles
        if re.search(
            rb"(?<![A-Za-z0-9_-])" + re.escape(needle.encode()) + rb"(?![A-Za-z0-9_-])",
            data,
            re.IGNORECASE,
        )
    )


def _ingest(tmp_path: Path, db_url: str) -> tuple[list[Path], str]:
    statuses = json.loads((FIXTURES / "mastodon_statuses.json").read_text())
    hidden = tmp_path / "mastodon_not_public.json"
    hidden.write_text(json.dumps(_not_public(statuses)))
    paths = [FIXTURES / name for name in INPUTS] + [hidden]
    env = {
        "STADSPULS_KEY_FILE": str(tmp_path / "secrets" / "pseudonym.key"),
        "STADSPULS_MASTODON": "[]",
        "STADSPULS_FEEDS": "[]",
        "STADSPULS_BLUESKY__ENABLED": "false",
        "STADSPULS_DOOR_PROCESS": "false",
        "STADSPULS_ENRICHERS": "[]",
    }
    runner = CliRunner()
    result = runner.invoke(
        main, ["ingest", *map(str, paths), "--db", db_url, "-q", *IMPORT], env=env
    )
    assert result.exit_code == 0, result.output
    assert "not imported, as not public: 1 visibility direct, 1 visibility private" in (
        result.output
    )
    found = runner.invoke(main, ["search", "--db", db_url, "--limit", "1000"], env=env)
    assert found.exit_code == 0, found.output
    return paths, found.output


def _check(paths: list[Path], stored: bytes, search_output: str) -> None:
    needles = identities(paths)
    # The collection itself is checked, so that an empty set cannot pass by accident.
    assert {"did:plc:4hqjfn7m6n5hno3doamuhgef", "anna", "bert@mastodon.social"} <= needles
    assert {"voorbeeld_nl", "DemoSentinel17", "demo_account", "geheimevolger"} <= needles
    assert "https://mastodon.nl/@anna" in needles
    assert {"mastodonpy_test", "admin", "109383664973470793"} <= needles  # Mastodon.py's
    assert len(search_output.splitlines()) > 20  # posts were stored and printed
    assert b"geheimwoord" not in stored  # the non-public statuses' text
    assert leaks(stored, needles) == []
    assert leaks(search_output.encode(), needles) == []


def test_sqlite_file_holds_no_raw_identity(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    paths, output = _ingest(tmp_path, f"sqlite:///{db}")
    stored = b"".join(Path(name).read_bytes() for name in sorted(glob.glob(f"{db}*")))
    _check(paths, stored, output)


@pytest.mark.postgres
def test_postgres_dump_holds_no_raw_identity(tmp_path: Path, pg_url: str) -> None:
    paths, output = _ingest(tmp_path, pg_url)
    dumps = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    if not dumps:
        pytest.fail("pg_dump not found under /usr/lib/postgresql/*/bin")
    # The audit log's `role` column holds role names, and "admin" is also an account of the
    # inputs: its rows are checked field by field below, the role left out.
    dump = subprocess.run(
        [dumps[-1], "--no-owner", "--exclude-table-data=public.audit_log", "--dbname", pg_url],
        capture_output=True,
        check=True,
    ).stdout
    assert b"COPY public.posts" in dump
    _check(paths, dump, output)
    engine = open_store(pg_url)
    _, entries = list_entries(engine)
    engine.dispose()
    assert [e.action for e in entries] == ["posts.view"]  # the search in `_ingest`
    audited = "\n".join(
        str(value) for e in entries for value in (e.actor, e.query, e.reason, e.details)
    )
    assert leaks(audited.encode(), identities(paths)) == []


def test_the_scan_finds_a_leak() -> None:
    """The scanner itself: a raw handle is found, the same letters inside a token are not."""
    needles = {"anna", "did:plc:abc"}
    assert leaks(b'{"mentions":["anna"]} x did:plc:abc/1', needles) == ["anna", "did:plc:abc"]
    assert leaks(b"sealed1:Xannax4 hannah", needles) == []
