"""Feed documents as bytes: undeclared and wrongly declared encodings decode to the right text,
and JSON Feed (1.0/1.1) is read like RSS, from a file and from a live server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stadspuls.records import Post
from stadspuls.settings import FeedSettings
from stadspuls.sources.base import MappingError
from stadspuls.sources.encoding import decode_document
from stadspuls.sources.feeds import FeedSource
from stadspuls.sources.rss import map_rss_entry, parse_feed
from tests.support.feed_server import FeedServer
from tests.support.http import serve
from tests.support.streams import collect_until

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
WINDOWS_1252 = (FIXTURES / "rss_windows1252.xml").read_bytes()
TITLES = [
    "Brand in crèche ‘De Egeltjes’ in Zevenaar, kinderen geëvacueerd",
    "Coördinator noodopvang: “geïnformeerd zijn is het belangrijkst”",
]
JSON_FEED = (FIXTURES / "jsonfeed_full.json").read_bytes()


def titles(content: bytes, content_type: str | None = None) -> list[str]:
    return [str(entry["title"]) for entry in parse_feed(content, content_type)[1]]


def test_undeclared_windows_1252() -> None:
    title, entries = parse_feed(WINDOWS_1252)
    assert title == "Regio Nieuws – Gelderland"
    assert [e["title"] for e in entries] == TITLES
    post = map_rss_entry(entries[0], title)
    assert post.text.endswith("De schade wordt geschat op €40.000…")


def test_utf8_feed_with_items_in_windows_1252() -> None:
    # An aggregator's UTF-8 feed with one item copied in as Windows-1252 bytes: feedparser alone
    # reads the whole document as Windows-1252, and the UTF-8 item becomes "crÃ¨che".
    text = WINDOWS_1252.decode("cp1252")
    second = text.index("    <item>", text.index("<item>") + 1)
    mixed = text[:second].encode("utf-8") + text[second:].encode("cp1252")
    assert titles(mixed) == TITLES
    assert titles(mixed, "application/rss+xml") == TITLES


def test_charset_of_the_http_header_is_used() -> None:
    polish = (
        WINDOWS_1252.decode("cp1252")
        .replace(TITLES[0], "Pożar w Łodzi: straż na miejscu")
        .replace(TITLES[1], "Pociągi znów kursują")
    )
    content = polish.encode("cp1250")
    assert titles(content, "application/rss+xml; charset=windows-1250") == [
        "Pożar w Łodzi: straż na miejscu",
        "Pociągi znów kursują",
    ]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        # UTF-8 declared in the document, Windows-1252 bytes
        (
            WINDOWS_1252.replace(
                b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-8"?>'
            ),
            None,
        ),
        # ISO-8859-1 in the header (a server default), UTF-8 bytes
        (WINDOWS_1252.decode("cp1252").encode("utf-8"), "text/xml; charset=ISO-8859-1"),
        # UTF-16 with a byte-order mark
        (WINDOWS_1252.decode("cp1252").encode("utf-16"), None),
    ],
)
def test_wrong_declarations_lose_to_the_bytes(content: bytes, content_type: str | None) -> None:
    assert titles(content, content_type) == TITLES


def test_undeclared_central_european_text_goes_to_the_detector() -> None:
    text = WINDOWS_1252.decode("cp1252")
    for dutch, polish in zip(
        TITLES,
        [
            "Pożar hali magazynowej przy ulicy Źródłowej, mieszkańcy ewakuowani",
            "Pociągi znów kursują między Łodzią a Warszawą, informuje rzecznik spółki",
        ],
        strict=True,
    ):
        text = text.replace(dutch, polish)
    text = text.replace(
        "Alle kinderen zijn ongedeerd. De schade wordt geschat op €40.000…",
        "Strażacy gaszą pożar; nikt nie został ranny.",
    )
    text = text.replace(
        "Bewoners van de Prins Hendrikstraat kregen een brief – sommigen pas na drie dagen.",
        "Mieszkańcy dostali list, niektórzy dopiero po trzech dniach.",
    )
    text = text.replace("Regio Nieuws – Gelderland", "Wiadomości regionalne").replace(
        "Nieuws uit de regio", "Najnowsze wiadomości z regionu"
    )
    assert decode_document(text.encode("iso-8859-2")) == text


def test_json_feed_is_read_like_rss() -> None:
    title, entries = parse_feed(JSON_FEED, "application/feed+json")
    assert title == "My Example Feed"
    posts = [map_rss_entry(entry, title) for entry in entries]
    assert [p.id for p in posts] == ["rss:2", "rss:1"]
    second, first = posts
    assert second.created_at == datetime(2020, 1, 2, 21, 0, tzinfo=UTC)  # 14:00 at -07:00
    assert second.text == "Title\n\nContent with link"
    assert second.url == "https://example.org/second-item"
    assert second.lang_declared == "de"  # the item's own language (JSON Feed 1.1)
    assert second.author == "mailto:joe@example.com"  # an author with only a URL
    assert second.media == ()  # the attachments are audio
    assert first.created_at == datetime(2020, 1, 2, 12, 0, tzinfo=UTC)
    assert (first.text, first.author, first.lang_declared) == ("Hello, world!", "Jane", "en")
    # served as text/plain or without a Content-Type: recognised by its content
    assert parse_feed(JSON_FEED, "text/plain")[1] == entries
    assert parse_feed(JSON_FEED)[1] == entries
    # and RSS served as JSON is still RSS
    assert titles(WINDOWS_1252, "application/json") == TITLES


def test_json_feed_items_of_the_wrong_shape() -> None:
    document = (
        b'{"version": "https://jsonfeed.org/version/1", "title": "T", "items": ['
        b'{"id": 7, "content_text": "Regel een\\nregel <twee> & drie",'
        b' "date_published": "2024-11-25T08:15:00+01:00", "tags": ["brand", 3]},'
        b' ["geen", "object"], {"id": true, "content_text": "zonder id"},'
        b' {"id": "x", "title": "T", "date_published": "0001-01-01T00:00:00+01:00"}]}'
    )
    _, entries = parse_feed(document, "application/json")
    post = map_rss_entry(entries[0], "T")
    assert (post.id, post.text, post.hashtags) == (
        "rss:7",
        "Regel een\nregel <twee> & drie",
        ("brand",),
    )
    with pytest.raises(MappingError):
        map_rss_entry(entries[1], "T")
    # a boolean id is no id: the item is identified by its content instead
    assert map_rss_entry(
        {**entries[2], "published_parsed": entries[0]["published_parsed"]}, "T"
    ).id.startswith("rss:sha256:")
    # a time out of range is no time: without one, the mapping asks for the time of the fetch
    with pytest.raises(MappingError, match="published"):
        map_rss_entry(entries[3], "T")
    for bad in (
        b'{"title": "no version"}',
        b"{broken",
        b'{"version": "https://jsonfeed.org/version/1.1"}',
    ):
        with pytest.raises(MappingError, match="not a feed"):
            parse_feed(bad, "application/feed+json")


def test_live_json_and_windows_1252_feeds() -> None:
    server = FeedServer()
    document = json.loads(JSON_FEED)
    document["items"].insert(1, ["not", "an", "object"])  # counted as malformed, not fatal
    server.documents["json"] = json.dumps(document).encode()
    server.media_types["json"] = "application/feed+json"
    server.documents["legacy"] = WINDOWS_1252
    server.media_types["legacy"] = "text/xml"  # no charset, no encoding in the document

    async def scenario() -> tuple[list[Post], int]:
        async with serve(server.app) as url:
            source = FeedSource(
                [
                    FeedSettings(url=f"{url}/feeds/json", interval_s=0.02),
                    FeedSettings(url=f"{url}/feeds/legacy", interval_s=0.02),
                ]
            )
            items = await collect_until(
                source.stream({}), lambda items: sum(isinstance(i, Post) for i in items) == 4
            )
            return [i for i in items if isinstance(i, Post)], source.stats.malformed

    posts, malformed = asyncio.run(scenario())
    assert malformed == 1
    assert {p.id for p in posts} == {"rss:1", "rss:2", "rss:regio-3100", "rss:regio-3101"}
    assert {p.text.split("\n")[0] for p in posts if p.id.startswith("rss:regio")} == set(TITLES)
