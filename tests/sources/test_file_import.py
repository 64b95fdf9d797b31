"""File import: every format detected from content, gzip by magic bytes, malformed lines
counted and skipped with their line number, and a clear error for a CSV without `text`."""

from __future__ import annotations

import asyncio
import gzip
import logging
import shutil
from pathlib import Path

import pytest

from stadspuls.records import Checkpoint, Deletion, Post, SourceItem
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import (
    FileFormatError,
    FileSource,
    detect_format,
    iter_file,
    stream_name,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"

CASES = [
    ("jetstream_events.jsonl", "jetstream", 7, 1),
    ("mastodon_statuses.json", "mastodon", 4, 0),
    ("twitter_v2.jsonl", "twitter", 3, 0),
    ("fourcat_export.ndjson", "4cat", 3, 0),
    ("posts.csv", "csv", 3, 0),
]


@pytest.mark.parametrize(("name", "kind", "posts", "deletions"), CASES)
def test_each_format_is_detected_and_read(
    name: str, kind: str, posts: int, deletions: int, tmp_path: Path
) -> None:
    path = FIXTURES / name
    assert detect_format(path) == kind
    stats = SourceStats()
    items = list(iter_file(path, stats=stats))
    assert sum(isinstance(i, Post) for i in items) == posts == stats.posts
    assert sum(isinstance(i, Deletion) for i in items) == deletions == stats.deletions
    assert stats.malformed == 0
    # the same file gzipped (under a name that does not say so) reads the same
    packed = tmp_path / "data.bin"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert detect_format(packed) == kind
    assert list(iter_file(packed)) == items


def test_mastodon_statuses_as_json_lines(tmp_path: Path) -> None:
    import json

    statuses = json.loads((FIXTURES / "mastodon_statuses.json").read_text())
    path = tmp_path / "statuses.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in statuses))
    assert detect_format(path) == "mastodon"
    assert list(iter_file(path)) == list(iter_file(FIXTURES / "mastodon_statuses.json"))


def test_pretty_printed_api_response(tmp_path: Path) -> None:
    import json

    response = json.loads((FIXTURES / "twitter_v2.jsonl").read_text().splitlines()[0])
    path = tmp_path / "response.json"
    path.write_text(json.dumps(response, indent=2))
    assert detect_format(path) == "twitter"
    assert [p.id for p in iter_file(path)] == [
        "twitter:1860000000000000001",
        "twitter:1860000000000000002",
    ]


def test_malformed_lines_are_counted_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = (FIXTURES / "jetstream_events.jsonl").read_text().splitlines()
    lines.insert(2, "{broken json")
    lines.insert(5, '{"did": "did:plc:x", "kind": "commit"}')  # no time_us
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    stats = SourceStats()
    with caplog.at_level(logging.WARNING):
        posts = [i for i in iter_file(path, "jetstream", stats) if isinstance(i, Post)]
    assert len(posts) == 7
    assert stats.malformed == 2
    assert f"{path}:3:" in caplog.text
    assert f"{path}:6:" in caplog.text


def test_csv_rows_with_bad_values_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "text,created_at,lat\n"
        "goed,2024-11-23T10:00:00Z,52.1\n"
        "geen tijd,,\n"
        "slechte plaats,2024-11-23T10:00:00Z,noord\n"
        '"te veel",2024-11-23T10:00:00Z,52.1,extra\n'
    )
    stats = SourceStats()
    assert [getattr(p, "text", None) for p in iter_file(path, stats=stats)] == ["goed"]
    assert stats.malformed == 3


def test_csv_without_a_required_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("text,author\nhallo,x\n")
    with pytest.raises(FileFormatError, match="'created_at'"):
        list(iter_file(path, "csv"))


def test_unknown_content_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    with pytest.raises(FileFormatError, match="formats: jetstream"):
        detect_format(path)
    json_path = tmp_path / "other.jsonl"
    json_path.write_text('{"hello": "world"}\n')
    with pytest.raises(FileFormatError, match="unknown kind"):
        detect_format(json_path)


def test_file_source_resumes_by_item_index(tmp_path: Path) -> None:
    first_file = tmp_path / "a.jsonl"
    shutil.copy(FIXTURES / "jetstream_events.jsonl", first_file)
    second_file = tmp_path / "b.csv"
    shutil.copy(FIXTURES / "posts.csv", second_file)

    async def run(cursors: dict[str, str]) -> list[SourceItem]:
        source = FileSource([first_file, second_file], checkpoint_every=3)
        return [item async for item in source.stream(cursors)]

    everything = asyncio.run(run({}))
    checkpoints = [i for i in everything if isinstance(i, Checkpoint)]
    assert checkpoints[-1] == Checkpoint(stream_name(second_file), "3")
    # resuming from the checkpoint after the first three items of the first file
    resumed = asyncio.run(run({checkpoints[0].stream: checkpoints[0].cursor}))
    produced = [i for i in everything if not isinstance(i, Checkpoint)]
    assert [i for i in resumed if not isinstance(i, Checkpoint)] == produced[3:]
