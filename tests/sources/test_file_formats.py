"""Real exports in, nothing silently dropped (issue 7): Zeeschuimer's X items, twarc2 pages of
any size with per-tweet mapping and their referenced tweets, Mastodon DELETE responses, the
non-post events of Jetstream, truncated and binary files, invalid UTF-8 and resume by content."""

from __future__ import annotations

import asyncio
import copy
import csv
import gzip
import json
import logging
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stadspuls.records import Checkpoint, Deletion, Post, SourceItem
from stadspuls.settings import BlueskySettings
from stadspuls.sources.base import SourceStats
from stadspuls.sources.files import (
    FileFormatError,
    FileSource,
    detect_format,
    iter_file,
    stream_name,
)
from stadspuls.sources.jetstream import JetstreamSource
from stadspuls.sources.throttle import LogThrottle

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"


def _read(path: Path, fmt: str | None = None) -> tuple[list[Post | Deletion], SourceStats]:
    stats = SourceStats()
    return list(iter_file(path, fmt, stats)), stats


def _posts(items: list[Post | Deletion]) -> dict[str, Post]:
    return {item.id: item for item in items if isinstance(item, Post)}


def test_zeeschuimer_x_items_are_stored_with_full_texts() -> None:
    path = FIXTURES / "zeeschuimer_x.ndjson"
    assert detect_format(path) == "4cat"
    items, stats = _read(path)
    posts = _posts(items)
    assert stats.malformed == 0
    assert len(posts) == stats.posts == 3  # the retweet, the tweet it retweets, a long tweet
    retweet = posts["4cat:x.com/1665951747842641921"]
    original = posts["4cat:x.com/1665863576060575744"]
    assert retweet.repost_of == original.id
    assert retweet.text == f"RT @nieuwsdienst_demo: {original.text}"
    assert not retweet.text.endswith("…")
    assert retweet.author == "herdenker_demo"
    assert retweet.url == "https://x.com/herdenker_demo/status/1665951747842641921"
    assert original.media == (
        "https://pbs.twimg.com/ext_tw_video_thumb/1665861064259686400/pu/img/D1qkMrHVMTV_ifFk.jpg",
    )
    long = posts["4cat:x.com/1665870000000000001"]
    assert long.text.endswith("the plum rains begin along the Yangtze. #mangzhong")
    assert long.hashtags == ("mangzhong",)
    assert long.created_at.isoformat() == "2023-06-05T23:30:01+00:00"


def test_a_zeeschuimer_reply_still_in_its_visibility_wrapper_is_read(tmp_path: Path) -> None:
    # Zeeschuimer unwraps `TweetWithVisibilityResults` for timeline entries but not for the
    # replies of a conversation module, which keep the wrapper and get a numeric id
    item = json.loads((FIXTURES / "zeeschuimer_x.ndjson").read_text().splitlines()[0])
    tweet = item["data"]
    del tweet["id"]
    item["data"] = {
        "__typename": "TweetWithVisibilityResults",
        "tweet": tweet,
        "id": int(tweet["rest_id"]),
    }
    path = tmp_path / "replies.ndjson"
    path.write_text(json.dumps(item) + "\n")
    items, stats = _read(path)
    assert stats.malformed == 0
    assert sorted(_posts(items)) == [
        "4cat:x.com/1665863576060575744",
        "4cat:x.com/1665951747842641921",
    ]


def test_an_older_zeeschuimer_capture_in_the_adaptive_shape_is_read(tmp_path: Path) -> None:
    # captures of the older `adaptive.json` API: the tweet under `legacy`, its author under
    # `user`, and an `id` that JavaScript's parseInt has rounded (legacy.id_str is exact)
    item = json.loads((FIXTURES / "zeeschuimer_x.ndjson").read_text().splitlines()[0])
    original = item["data"]["legacy"]["retweeted_status_result"]["result"]
    item["data"] = {
        "id": 1665863576060575700,
        "legacy": original["legacy"],
        "type": "adaptive",
        "user": original["core"]["user_results"]["result"]["legacy"],
    }
    path = tmp_path / "adaptive.ndjson"
    path.write_text(json.dumps(item) + "\n")
    items, stats = _read(path)
    assert stats.malformed == 0
    [post] = _posts(items).values()
    assert post.id == "4cat:x.com/1665863576060575744"
    assert post.author == "nieuwsdienst_demo"
    assert post.text.startswith("Today marks the arrival")


def _page(tweets: int, filler: int = 0) -> dict[str, Any]:
    """A twarc2 page in the real shape (from the fixture), with `tweets` tweets and `filler`
    extra users in its includes to make the line as long as real ones are."""
    page: dict[str, Any] = json.loads((FIXTURES / "twarc2_pages.jsonl").read_text().splitlines()[1])
    template = page["data"][0]
    data = []
    for n in range(tweets):
        tweet = copy.deepcopy(template)
        tweet["id"] = str(1576995594388000768 + n)
        tweet["text"] = f"Bericht {n} over de wijk"
        data.append(tweet)
    page["data"] = data
    user = page["includes"]["users"][0]
    page["includes"]["users"] += [dict(user, id=str(9000 + n)) for n in range(filler)]
    return page


def test_a_first_line_longer_than_64_kib_is_detected_and_read(tmp_path: Path) -> None:
    path = tmp_path / "search.jsonl"
    line = json.dumps(_page(100, filler=400))
    assert len(line) > 2 * (1 << 16)
    path.write_text(line + "\n" + json.dumps(_page(3)) + "\n")
    assert detect_format(path) == "twitter"
    items, stats = _read(path, "twitter")
    assert stats.malformed == 0
    # each page: its tweets and the two tweets they reply to and quote (the store keeps one
    # copy of the three tweets and two references the pages share)
    assert stats.posts == len(items) == (100 + 2) + (3 + 2)
    packed = tmp_path / "search.jsonl.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert detect_format(packed) == "twitter"
    assert list(iter_file(packed)) == items


def test_one_tweet_without_created_at_costs_one_tweet_not_the_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = _page(100)
    del page["data"][41]["created_at"]
    path = tmp_path / "page.jsonl"
    path.write_text(json.dumps(page) + "\n")
    with caplog.at_level(logging.WARNING):
        items, stats = _read(path, "twitter")
    page_posts = [p for p in _posts(items) if p.startswith("twitter:15769955943880")]
    assert len(page_posts) == 99
    assert stats.malformed == 1
    assert "tweet 1576995594388000809: missing required field 'created_at'" in caplog.text


def test_a_page_without_tweets_is_skipped_not_malformed(tmp_path: Path) -> None:
    empty = {"meta": {"result_count": 0}, "__twarc": {"version": "2.12.0"}}
    path = tmp_path / "search.jsonl"
    path.write_text(json.dumps(_page(2)) + "\n" + json.dumps(empty) + "\n")
    items, stats = _read(path)
    assert stats.posts == len(items) == 2 + 2
    assert stats.malformed == 0
    assert stats.skipped_by_kind == {"twitter:page without tweets": 1}


def test_format_twitter_on_a_file_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text("{niet: json}\nook niet\n")
    with pytest.raises(FileFormatError, match=r"notes\.jsonl: neither JSON Lines nor one JSON"):
        list(iter_file(path, "twitter"))


def test_retweets_take_the_full_text_and_referenced_tweets_are_posts() -> None:
    path = FIXTURES / "twarc2_pages.jsonl"
    assert detect_format(path) == "twitter"
    items, stats = _read(path)
    posts = _posts(items)
    assert stats.malformed == 0
    assert len(items) == len(posts) == 5
    retweet = posts["twitter:1394735776701816833"]
    original = posts["twitter:1391677057810288641"]
    assert retweet.repost_of == original.id
    assert retweet.text == f"RT @straatnieuws_demo: {original.text}"
    assert "…" not in retweet.text
    assert original.author == "straatnieuws_demo"
    reply = posts["twitter:1576995594388000768"]
    assert reply.reply_to == "twitter:1576994789110992896"
    assert reply.reply_to in posts
    # the quoted tweet is a post too, and the quote links to it
    assert "twitter:1576994746135764992" in posts
    assert any(link.endswith("/status/1576994746135764992") for link in reply.links)


def test_every_tweet_of_includes_is_a_post(tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "twarc2_pages.jsonl").read_text().splitlines()[1])
    quoted = page["includes"]["tweets"][1]
    # the quoted tweet is itself a reply; the API includes its parent too
    parent = dict(page["includes"]["tweets"][2], id="1576990000000000000", text="Eerder bericht")
    quoted["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
    page["includes"]["tweets"].append(parent)
    path = tmp_path / "page.jsonl"
    path.write_text(json.dumps(page) + "\n")
    posts = _posts(list(iter_file(path)))
    assert posts["twitter:1576994746135764992"].reply_to == "twitter:1576990000000000000"
    assert posts["twitter:1576990000000000000"].text == "Eerder bericht"
    assert len(posts) == 4


def test_long_retweets_take_the_note_tweet_text(tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "twarc2_pages.jsonl").read_text().splitlines()[0])
    original = page["includes"]["tweets"][0]
    original["note_tweet"] = {"text": original["text"] + " en de rest van het lange bericht"}
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(page) + "\n")
    retweet = _posts(list(iter_file(path)))["twitter:1394735776701816833"]
    assert retweet.text.endswith("volg de borden ter plaatse en de rest van het lange bericht")


def test_a_mastodon_delete_response_is_the_authors_deletion(tmp_path: Path) -> None:
    status = json.loads((FIXTURES / "mastodon_statuses.json").read_text())[0]
    # DELETE /api/v1/statuses/:id returns the status with its source (`text`), not `content`
    deleted = {k: v for k, v in status.items() if k != "content"}
    deleted["text"] = "Brand in de haven, ramen dicht"
    path = tmp_path / "deleted.jsonl"
    path.write_text(json.dumps(deleted) + "\n")
    assert detect_format(path) == "mastodon"
    items, stats = _read(path)
    assert len(items) == 1
    deletion = items[0]
    assert isinstance(deletion, Deletion)
    assert deletion.id == "mastodon:mastodon.nl/users/anna/statuses/113526000000000001"
    assert deletion.at == datetime(2024, 11, 23, 14, 0, tzinfo=UTC)  # the status's own time
    assert stats.deletions == 1
    assert stats.posts == 0
    assert not any(isinstance(i, Post) and "x.com" in (i.url or "") for i in items)


def test_jetstream_non_post_events_are_skipped_by_kind_not_malformed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = JetstreamSource(BlueskySettings(langs=[]))
    frames = (FIXTURES / "jetstream_other_events.jsonl").read_bytes().splitlines()
    with caplog.at_level(logging.WARNING):
        assert [source.handle(frame) for frame in frames] == [None] * 6
    stats = source.stats
    assert stats.malformed == 0
    assert stats.skipped == 6
    assert stats.skipped_by_kind == {
        "app.bsky.feed.like": 2,
        "app.bsky.graph.follow": 1,
        "app.bsky.feed.repost": 1,
        "app.bsky.actor.profile": 1,
        "identity": 1,
    }
    assert caplog.records == []
    # the same from a file
    items, file_stats = _read(FIXTURES / "jetstream_other_events.jsonl", "jetstream")
    assert items == []
    assert file_stats.malformed == 0
    assert file_stats.skipped_by_kind == stats.skipped_by_kind


def test_repeated_warnings_are_throttled_with_a_count() -> None:
    logger = logging.getLogger("test.throttle")
    now = [0.0]
    throttle = LogThrottle(logger, interval=60.0, burst=3, clock=lambda: now[0])
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    logger.addHandler(handler)
    try:
        logged = [throttle.warning("malformed:x", "bad %d", n) for n in range(10)]
        assert logged == [True] * 3 + [False] * 7
        assert throttle.warning("malformed:y", "other") is True  # keys have their own budget
        now[0] = 61.0
        assert throttle.warning("malformed:x", "bad %d", 10) is True
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert messages[2] == "bad 2 (further ones suppressed for 60 s)"
    assert messages[-1] == "bad 10 (7 more like this were suppressed)"


def test_a_file_of_bad_lines_logs_a_few_warnings_not_one_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    good = (FIXTURES / "jetstream_events.jsonl").read_text().splitlines()[0]
    path.write_text(good + "\n" + "{kapot\n" * 500)
    with caplog.at_level(logging.WARNING):
        _items, stats = _read(path, "jetstream")
    assert stats.malformed == 500
    warnings = [r for r in caplog.records if "skipped malformed payload" in r.getMessage()]
    assert len(warnings) == 10
    assert "further ones suppressed" in warnings[-1].getMessage()


def _jsonl_of(tmp_path: Path, posts: int) -> Path:
    template = (FIXTURES / "jetstream_events.jsonl").read_text().splitlines()[0]
    event = json.loads(template)
    lines = []
    for n in range(posts):
        event["commit"]["rkey"] = f"3lbqz2a7y{n:05d}"
        event["commit"]["record"]["text"] = f"Bericht {n}: {'tekst ' * 20}"
        lines.append(json.dumps(event))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_truncated_gzip_keeps_what_was_read_and_says_where_it_ended(tmp_path: Path) -> None:
    plain = _jsonl_of(tmp_path, 2000)
    packed = tmp_path / "events.jsonl.gz"
    whole = gzip.compress(plain.read_bytes())
    packed.write_bytes(whole[: len(whole) // 2])
    assert detect_format(packed) == "jetstream"
    read: list[Post | Deletion] = []
    items = iter_file(packed)
    with pytest.raises(FileFormatError) as caught:
        read.extend(items)
    message = str(caught.value)
    assert str(packed) in message
    assert "truncated gzip" in message
    assert f"after line {len(read)} (byte " in message
    assert 100 < len(read) < 2000
    assert read == list(iter_file(plain))[: len(read)]


def test_corrupt_gzip_keeps_what_was_read_and_says_so(tmp_path: Path) -> None:
    plain = _jsonl_of(tmp_path, 2000)
    whole = bytearray(gzip.compress(plain.read_bytes()))
    whole[len(whole) // 2] ^= 0xFF  # one flipped byte half-way
    packed = tmp_path / "events.bin"
    packed.write_bytes(bytes(whole))
    read: list[Post | Deletion] = []
    items = iter_file(packed)
    with pytest.raises(FileFormatError, match=r"events\.bin: the compressed data is corrupt"):
        read.extend(items)
    assert read == list(iter_file(plain))[: len(read)]


def test_a_random_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(random.Random(7).randbytes(5000) + b"\x00")
    with pytest.raises(FileFormatError, match="binary data"):
        detect_format(path)
    for fmt in ("csv", "twitter", "jetstream"):
        with pytest.raises(FileFormatError, match=r"export\.csv"):
            list(iter_file(path, fmt))


def test_a_utf16_export_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("text,created_at\nhallo,2024-11-23T10:00:00Z\n".encode("utf-16"))
    with pytest.raises(FileFormatError, match="UTF-16 text; save or export it as UTF-8"):
        detect_format(path)


def test_invalid_utf8_on_the_first_jsonl_line_is_one_malformed_line(tmp_path: Path) -> None:
    lines = (FIXTURES / "jetstream_events.jsonl").read_bytes().splitlines()
    broken = lines[0].replace(b"Grote brand", b"Grote br\xe9nd")
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([broken, *lines[1:]]) + b"\n")
    assert detect_format(path) == "jetstream"
    items, stats = _read(path)
    assert stats.malformed == 1
    assert stats.posts == 6
    assert len(items) == 7  # and the fixture's deletion  # the fixture's 7 posts but the broken one


def test_invalid_utf8_in_csv_is_counted_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(
        b"text,created_at\n"
        b"goed,2024-11-23T10:00:00Z\n"
        b"caf\xe9 op het plein,2024-11-23T10:01:00Z\n"
        b"ook goed,2024-11-23T10:02:00Z\n"
        b"\xff\xfe kapot,2024-11-23T10:03:00Z\n"
    )
    with caplog.at_level(logging.WARNING):
        items, stats = _read(path)
    assert [p.text for p in _posts(items).values()] == [
        "goed",
        "caf\ufffd op het plein",
        "ook goed",
        "\ufffd\ufffd kapot",
    ]
    assert stats.invalid_utf8 == 2
    assert "2 line(s) held bytes that are not UTF-8 (the first at line 3)" in caplog.text


def test_a_runaway_quote_in_csv_costs_its_row_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "text,created_at\n"
        "goed,2024-11-23T10:00:00Z\n"
        '"een open aanhalingsteken,2024-11-23T10:01:00Z\n' + "x" * 3000 + "\n"
    )
    limit = csv.field_size_limit(1000)
    try:
        items, stats = _read(path)
    finally:
        csv.field_size_limit(limit)
    assert [p.text for p in _posts(items).values()] == ["goed"]
    assert (stats.received, stats.posts, stats.malformed) == (2, 1, 1)


def test_a_file_name_reused_with_new_content_is_read_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"

    def write(start: int, count: int) -> None:
        rows = [f"r{n},bericht {n},2024-11-23T10:{n % 60:02d}:00Z\n" for n in range(count)]
        path.write_text("id,text,created_at\n" + "".join(rows[start:]))

    async def run(cursors: dict[str, str]) -> list[SourceItem]:
        return [item async for item in FileSource([path]).stream(cursors)]

    write(0, 100)
    first = asyncio.run(run({}))
    cursors = {c.stream: c.cursor for c in first if isinstance(c, Checkpoint)}
    assert cursors == {stream_name(path): "100"}
    # the very same file again: resumed behind its end, nothing read twice
    assert [i for i in asyncio.run(run(cursors)) if isinstance(i, Post)] == []
    # the same name, new content (150 other rows): all of them are read
    write(100, 250)
    again = [i for i in asyncio.run(run(cursors)) if isinstance(i, Post)]
    assert len(again) == 150
    assert stream_name(path) not in cursors
