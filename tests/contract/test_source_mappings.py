"""The conformance suite every source mapping passes (river's check_estimator, for sources).

Each mapping is listed once in MAPPINGS with its recorded payloads and its required fields;
every check below then runs on every payload: a new source adds its line and its fixture and
gets these tests for free.
"""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from stadspuls.records import Deletion, Post
from stadspuls.sources.base import MappingError
from stadspuls.sources.fourcat import map_4cat_item
from stadspuls.sources.jetstream import map_jetstream
from stadspuls.sources.mastodon import map_mastodon_status
from stadspuls.sources.p2000 import map_p2000_item
from stadspuls.sources.p2000_csv import RowMapper
from stadspuls.sources.rss import map_rss_entry, parse_feed
from stadspuls.sources.tabular import map_csv_row
from stadspuls.sources.twitter import iter_response, map_tweet

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Required:
    """Removing the fields `remove` (checked on payloads that have them all) and whichever of
    `also` are there makes the mapping raise a MappingError that mentions `name`."""

    name: str
    remove: list[Path_] = field(default_factory=list)
    also: list[Path_] = field(default_factory=list)


@dataclass(frozen=True)
class MappingCase:
    name: str
    source: str  # every id starts with f"{source}:"
    map: Callable[[Any], Post | Deletion | None]
    load: Callable[[], list[Any]]
    required: list[Required] = field(default_factory=list)


def _lines(name: str) -> list[Any]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]


def _json(name: str) -> list[Any]:
    loaded: list[Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def _public_statuses(name: str) -> list[Any]:
    """The recorded statuses a mapping turns into posts: followers-only and direct ones are
    skipped by design (tests/sources/test_mastodon_real_payloads.py checks that)."""
    return [s for s in _json(name) if s["visibility"] in ("public", "unlisted")]


def _feed(name: str) -> list[Any]:
    return parse_feed((FIXTURES / name).read_bytes())[1]


def _tweets() -> list[Any]:
    return [
        {"tweet": tweet, "includes": includes}
        for name in ("twitter_v2.jsonl", "twarc2_pages.jsonl")
        for line in _lines(name)
        for tweet, includes in iter_response(line)
    ]


def _map_twitter(payload: Any) -> Post:
    if not isinstance(payload, dict):
        return map_tweet(payload)
    return map_tweet(payload["tweet"], payload["includes"])


def _csv_rows(name: str = "posts.csv") -> list[Any]:
    with (FIXTURES / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


MAPPINGS = [
    MappingCase(
        "jetstream",
        "bluesky",
        map_jetstream,
        lambda: _lines("jetstream_events.jsonl"),
        [
            Required("did", [("did",)]),
            Required("time_us", [("time_us",)]),
            Required("rkey", [("commit", "rkey")]),
            Required("text", [("commit", "record", "text")]),
        ],
    ),
    MappingCase(
        "mastodon",
        "mastodon",
        lambda status: map_mastodon_status(status, "mastodon.nl"),
        lambda: _json("mastodon_statuses.json") + _public_statuses("mastodon_py_statuses.json"),
        [
            Required("id", [("id",)]),
            Required("created_at", [("created_at",)]),
            Required("acct", [("account", "acct")]),
            Required("uri", also=[("uri",), ("url",)]),
        ],
    ),
    MappingCase(
        "rss",
        "rss",
        lambda entry: map_rss_entry(entry, "Feed"),
        lambda: (
            _feed("rss_news.xml")
            + _feed("atom_news.xml")
            + _feed("rss_windows1252.xml")
            + _feed("jsonfeed_full.json")
        ),
        [
            Required("published", also=[("published_parsed",), ("updated_parsed",)]),
            Required("id", also=[("title",), ("summary",), ("content",), ("id",), ("link",)]),
        ],
    ),
    MappingCase(
        "p2000",
        "p2000",
        map_p2000_item,
        lambda: _feed("p2000_feed.xml"),
        [
            Required("title", also=[("title",), ("summary",)]),
            Required("published", also=[("published_parsed",), ("updated_parsed",)]),
        ],
    ),
    MappingCase(
        "p2000-csv",
        "p2000",
        # a fresh mapper per row: one file's mapper numbers repeated rows, by design
        lambda row: RowMapper()(row),
        lambda: _csv_rows("p2000_log.csv"),
        [Required("text", [("text",)]), Required("created_at", [("created_at",)])],
    ),
    MappingCase(
        "twitter",
        "twitter",
        _map_twitter,
        _tweets,
        [
            Required("id", [("tweet", "id")]),
            Required("text", [("tweet", "text")]),
            Required("created_at", [("tweet", "created_at")]),
        ],
    ),
    MappingCase(
        "4cat",
        "4cat",
        map_4cat_item,
        lambda: _lines("fourcat_export.ndjson") + _lines("zeeschuimer_x.ndjson"),
        [
            Required("body", [("data", "legacy", "full_text")]),
            Required("body", [("legacy", "full_text")], also=[("note_tweet",)]),
            Required("created_at", [("data", "legacy", "created_at")]),
            Required("body", [("desc",)]),
            Required("body", [("data", "caption")]),
            Required("body", [("body",)]),
            Required("id", [("id",), ("__import_meta", "id")]),
            Required("id", [("id",), ("data", "id")]),
            Required("id", [("id",), ("thread_id",)]),
            Required("timestamp", [("timestamp",), ("thread_id",)]),
        ],
    ),
    MappingCase(
        "csv",
        "csv",
        map_csv_row,
        _csv_rows,
        [Required("text", [("text",)]), Required("created_at", [("created_at",)])],
    ),
]


def _cases() -> Iterator[Any]:
    for case in MAPPINGS:
        for index, payload in enumerate(case.load()):
            yield pytest.param(case, payload, id=f"{case.name}-{index}")


CASES = list(_cases())


def _has(payload: Any, path: Path_) -> bool:
    for key in path:
        if not isinstance(payload, dict) or key not in payload:
            return False
        payload = payload[key]
    return True


def _remove(payload: Any, path: Path_) -> None:
    for key in path[:-1]:
        payload = payload[key]
    del payload[path[-1]]


@pytest.mark.parametrize(("case", "payload"), CASES)
def test_mapping_is_pure(case: MappingCase, payload: Any) -> None:
    before = copy.deepcopy(payload)
    first = case.map(payload)
    assert payload == before, "the mapping changed its input"
    assert case.map(copy.deepcopy(payload)) == first


@pytest.mark.parametrize(("case", "payload"), CASES)
def test_output_is_a_valid_record(case: MappingCase, payload: Any) -> None:
    item = case.map(payload)
    if item is None:
        return  # not a post (identity events and the like)
    round_trip = msgspec.convert(msgspec.to_builtins(item), type(item))
    assert round_trip == item, "the record does not validate against its own type"
    if isinstance(item, Deletion):
        assert item.id.startswith(f"{case.source}:")
        assert item.at.utcoffset() == timedelta(0)
        return
    assert item.source == case.source
    assert item.id == f"{item.source}:{item.native_id}"
    assert item.native_id
    assert len(item.native_id) <= 200
    assert item.created_at.tzinfo is not None
    assert item.created_at.utcoffset() == timedelta(0)
    assert item.text.strip()
    assert item.author_key is None, "pseudonyms are the door's business"
    assert item.lang_declared is None or (
        len(item.lang_declared) == 2 and item.lang_declared.islower()
    )
    for reference in (item.reply_to, item.repost_of):
        assert reference is None or reference.startswith(f"{case.source}:")
    for values in (item.hashtags, item.mentions, item.links, item.media):
        assert all(isinstance(v, str) and v for v in values)


@pytest.mark.parametrize(("case", "payload"), CASES)
def test_unknown_fields_are_ignored(case: MappingCase, payload: Any) -> None:
    expected = case.map(payload)
    extended = copy.deepcopy(payload)

    def add_unknown(obj: Any) -> None:
        if isinstance(obj, dict):
            for value in list(obj.values()):
                add_unknown(value)
            obj["zz_future_field"] = {"nested": [1, "twee"]}
        elif isinstance(obj, list):
            for value in obj:
                add_unknown(value)

    add_unknown(extended)
    assert case.map(extended) == expected


@pytest.mark.parametrize(("case", "payload"), CASES)
def test_missing_required_fields_raise_mapping_error(case: MappingCase, payload: Any) -> None:
    if case.map(payload) is None:
        return
    for required in case.required:
        if not all(_has(payload, path) for path in required.remove):
            continue
        broken = copy.deepcopy(payload)
        for path in required.remove + required.also:
            if _has(broken, path):
                _remove(broken, path)
        with pytest.raises(MappingError, match=required.name):
            case.map(broken)


@pytest.mark.parametrize("case", MAPPINGS, ids=[c.name for c in MAPPINGS])
def test_ids_are_unique_and_stable(case: MappingCase) -> None:
    ids = [getattr(case.map(p), "id", None) for p in case.load()]
    again = [getattr(case.map(p), "id", None) for p in case.load()]
    assert ids == again
    posts = [i for i, p in zip(ids, case.load(), strict=True) if isinstance(case.map(p), Post)]
    assert len(posts) == len(set(posts))


@pytest.mark.parametrize("case", MAPPINGS, ids=[c.name for c in MAPPINGS])
def test_wrong_payload_type_is_a_mapping_error(case: MappingCase) -> None:
    with pytest.raises(MappingError):
        case.map(["not", "an", "object"])
