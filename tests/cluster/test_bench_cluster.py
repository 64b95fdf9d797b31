"""bench/cluster.py's counting: what a Jetstream recording should leave in the store, and what
the store really holds (stored, missing, duplicates, deletions not honoured).

The expected count is written in the benchmark a second time, with the json module, so that it
does not depend on the mapping it checks; here both must agree on the real recordings. The store
count must see each kind of damage it reports, on a real PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec
import pytest
from bench.cluster import count_store, expected_from_file

from stadspuls.enrich.door import build_pseudonymiser
from stadspuls.records import Deletion, Post
from stadspuls.settings import BlueskySettings, Settings
from stadspuls.sources.base import MappingError
from stadspuls.sources.jetstream import decode_frame, map_event
from stadspuls.store.database import open_store
from stadspuls.store.writer import Batch, PostWriter

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = sorted((REPO / "tests/fixtures/sources").glob("jetstream_*.jsonl"))


def _mapped(path: Path) -> tuple[list[Post], list[Deletion]]:
    posts: list[Post] = []
    deletions: list[Deletion] = []
    for line in path.read_bytes().splitlines():
        try:
            item = map_event(decode_frame(line))
        except MappingError:
            continue
        if isinstance(item, Post):
            posts.append(item)
        elif isinstance(item, Deletion):
            deletions.append(item)
    return posts, deletions


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_expected_agrees_with_the_mapping_on_the_real_recordings(path: Path) -> None:
    posts, deletions = _mapped(path)
    expected = expected_from_file(path)
    assert expected.created == {p.id for p in posts}
    assert expected.deleted == {d.id for d in deletions}
    assert expected.items == len(posts) + len(deletions)
    assert expected.lines == len(path.read_bytes().splitlines())


def test_expected_counts_creates_minus_deletes_once(tmp_path: Path) -> None:
    events = [json.loads(line) for line in RECORDINGS[0].read_text().splitlines()]
    post = next(e for e in events if e.get("commit", {}).get("operation") == "create")
    delete = next(e for e in events if e.get("commit", {}).get("operation") == "delete")
    orphan = json.loads(json.dumps(delete))
    orphan["commit"]["rkey"] = "3lnotinthefile"
    lines = [
        json.dumps(post),
        json.dumps(post),
        json.dumps(orphan),
        "{not json",
        *map(json.dumps, events),
    ]
    path = tmp_path / "rec.jsonl"
    path.write_text("\n".join(lines) + "\n")
    expected = expected_from_file(path)
    posts, deletions = _mapped(RECORDINGS[0])
    assert expected.repeated == 2  # the post three times: once counted, twice a repeat
    assert expected.malformed == 1
    assert expected.unique == {p.id for p in posts} - {d.id for d in deletions}
    assert f"bluesky:{orphan['did']}/3lnotinthefile" in expected.deleted


@pytest.mark.shared_data
def test_the_big_recording_is_what_it_says(tmp_path: Path) -> None:
    if not (REPO.parent / "shared" / "data").exists():
        pytest.skip("needs ../shared/data (the real texts)")
    out = tmp_path / "big.jsonl"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench/recording.py"), str(out), "--events", "3000"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    said = json.loads(done.stdout.splitlines()[-1])
    expected = expected_from_file(out)
    fixture_posts = sum(len(_mapped(p)[0]) for p in RECORDINGS)
    assert expected.lines == said["lines"] == 3000 + 16
    assert len(expected.created) == said["posts"] + fixture_posts
    # Every deletion of the generator deletes a post of the file, once; orphans delete nothing.
    fixture_deletes = sum(len(_mapped(p)[1]) for p in RECORDINGS)
    assert len(expected.deleted) == said["deletes"] + said["orphan_deletes"] + fixture_deletes
    assert len(expected.unique) == len(expected.created) - said["deletes"] - fixture_deletes
    assert said["repeats"] > 0
    assert said["deletes"] > 0


@pytest.mark.postgres
def test_count_store_sees_missing_duplicated_and_undeleted_posts(
    pg_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        key_file=tmp_path / "secrets" / "pseudonym.key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
    )
    pseudonymiser = build_pseudonymiser(settings)
    path = RECORDINGS[0]
    expected = expected_from_file(path)
    posts, deletions = _mapped(path)
    stored = pseudonymiser(posts)
    engine = open_store(pg_url)
    try:
        with PostWriter(engine) as writer:
            writer.write(Batch(posts=stored, deletions=pseudonymiser.deletions(deletions)))
        clean = count_store(pg_url, expected, pseudonymiser.post_id)
        assert clean["stored"] == clean["expected"] == len(expected.unique) > 0
        assert clean["missing"] == clean["duplicates"] == clean["deletes_not_honoured"] == 0

        # Damage of each kind, as a broken pipeline would leave it.
        deleted_id = pseudonymiser.post_id(deletions[0].id)
        undeleted = next(p for p in stored if p.id == deleted_id)
        survivor = next(p for p in stored[1:] if p.id != deleted_id)
        twin = msgspec.structs.replace(survivor, id="bluesky:twin")
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM tombstones")
        with PostWriter(engine) as writer:
            writer.write(Batch(posts=[undeleted, twin]))
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM posts WHERE id = %s", (stored[0].id,))
        damaged = count_store(pg_url, expected, pseudonymiser.post_id)
    finally:
        engine.dispose()
    assert damaged["missing"] == 1
    assert damaged["duplicates"] == 1  # the twin: the same (source, native_id) under a second id
    assert damaged["deletes_not_honoured"] == 1


def _relabelled_recording(path: Path, copies: int) -> None:
    """The real recordings `copies` times over, each copy's posts (and the deletions of them)
    under new record keys, so every copy adds new posts in the exact wire format."""
    lines = [line for p in RECORDINGS for line in p.read_text().splitlines() if line]
    with path.open("w") as out:
        for copy in range(copies):
            for line in lines:
                event = json.loads(line)
                commit = event.get("commit")
                if isinstance(commit, dict) and "rkey" in commit:
                    commit["rkey"] = f"{commit['rkey']}{copy:04d}"
                out.write(json.dumps(event) + "\n")


@pytest.mark.slow
@pytest.mark.postgres
def test_the_whole_bench_with_a_broker_restart(tmp_path: Path) -> None:
    """bench/cluster.py end to end on 512 events (192 posts to store) with one fault: Redis
    restarted as soon as the collector runs (a few hundred posts go through in well under a
    second, too fast to aim a worker's kill inside a batch); every post stored once, the file's
    deletions honoured, no process restarted."""
    for name, what in (
        ("STADSPULS_TEST_PG_URL", "PostgreSQL"),
        ("STADSPULS_TEST_REDIS_URL", "Redis"),
    ):
        if not os.environ.get(name):
            pytest.skip(f"{what} not started: set {name} (scripts/test-services.sh start)")
    data = tmp_path / "recording.jsonl"
    _relabelled_recording(data, 32)
    expected = expected_from_file(data)
    private = Path(tempfile.mkdtemp(prefix="stadspuls-bench-test-"))
    try:
        done = subprocess.run(
            [sys.executable, str(REPO / "bench/cluster.py"), "--data", str(data),
             "--workers", "1", "--faults", "restart-redis@0", "--batch", "20", "--claim-idle", "2",
             "--quiet", "20", "--timeout", "120", "--dir", str(private)],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
    finally:
        shutil.rmtree(private, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["expected"] == len(expected.unique) > 150
    assert result["stored"] == result["expected"]
    assert result["missing"] == result["duplicates"] == result["deletes_not_honoured"] == 0
    (fault,) = result["faults"]
    assert fault["fault"] == "restart-redis"
    assert fault["collector_running"]  # it came while the run was busy
    assert fault["stored_before"] < result["expected"]
    assert result["restarts"] == []
    run = result["runs"]["1"]
    assert run["ended"] == "collector exited, streams drained"
    # The replay's cursor covers the whole file, and no more.
    assert run["cursor"] == run["cursor_expected"] == expected.items
