"""The public news page and its feeds: only published publications with the target "news",
newest first; RSS 2.0 and Atom that feedparser reads, with absolute links and the text's HTML
escaped; caching by ETag and Last-Modified; the alternate links in the page's head."""

from __future__ import annotations

import feedparser
import pytest

from stadspuls.publish.records import Publication
from stadspuls.publish.registry import build_targets
from stadspuls.publish.service import PublishService
from tests.publish.conftest import FakeTarget
from tests.web.publish.conftest import Newsroom

BASE = "https://gemeente.example"


def publish(
    newsroom: Newsroom, title: str, body: str, targets: tuple[str, ...] = ("news",)
) -> Publication:
    service: PublishService = newsroom.app.state.publish
    anna = newsroom.actor("anna")
    created = service.create(anna, Publication(title=title, body=body, targets=targets))
    assert created.id is not None
    service.submit(anna, created.id)
    return service.approve(newsroom.actor("chef"), created.id)


@pytest.fixture
def news(newsroom: Newsroom) -> Newsroom:
    """The newsroom with a second channel beside the news page (in-process, as the service's
    own tests have it), so that a publication can go out without the news target."""
    app = newsroom.app
    settings = app.state.settings
    targets = {**build_targets(settings, newsroom.engine), "mastodon": FakeTarget("mastodon")}
    service = PublishService(newsroom.engine, settings, targets=targets)
    app.state.publish = service
    newsroom.service = service
    return newsroom


def test_feeds_hold_only_news_items_newest_first(news: Newsroom) -> None:
    first = publish(news, "Eerste bericht", "Het eerste.")
    publish(news, "Alleen Mastodon", "Niet voor de nieuwspagina.", ("mastodon",))
    second = publish(news, "Tweede bericht", "Het tweede.", ("news", "mastodon"))
    client = news.public()
    for path, kind in (("/nieuws/rss.xml", "rss"), ("/nieuws/atom.xml", "atom")):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(f"application/{kind}+xml")
        parsed = feedparser.parse(answer.content)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.version.startswith(kind)
        titles = [entry.title for entry in parsed.entries]
        assert titles == ["Tweede bericht", "Eerste bericht"]
        links = [entry.link for entry in parsed.entries]
        assert links == [
            f"{BASE}/nieuws/{second.id}-{second.slug}",
            f"{BASE}/nieuws/{first.id}-{first.slug}",
        ]
    page = client.get("/nieuws")
    assert "Alleen Mastodon" not in page.text
    assert page.text.index("Tweede bericht") < page.text.index("Eerste bericht")


def test_html_in_the_text_is_escaped(news: Newsroom) -> None:
    body = 'Let op <script>alert("x")</script> & <b>vet</b>'
    item = publish(news, "Tekens <i>schuin</i>", body)
    client = news.public()
    rss = feedparser.parse(client.get("/nieuws/rss.xml").content)
    entry = rss.entries[0]
    # The reader shows the characters as typed: markup in the text is text, not markup.
    assert entry.title == "Tekens <i>schuin</i>"
    assert "&lt;script&gt;" in entry.description
    assert "<script>" not in entry.description
    atom = feedparser.parse(client.get("/nieuws/atom.xml").content)
    assert "&lt;b&gt;vet&lt;/b&gt;" in atom.entries[0].content[0].value
    page = client.get(f"/nieuws/{item.id}-{item.slug}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_caching_headers_and_not_modified(news: Newsroom) -> None:
    publish(news, "Eerste bericht", "Het eerste.")
    client = news.public()
    for path in ("/nieuws", "/nieuws/rss.xml", "/nieuws/atom.xml"):
        answer = client.get(path)
        etag = answer.headers["etag"]
        assert answer.headers["last-modified"].endswith("GMT")
        assert "max-age" in answer.headers["cache-control"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        since = client.get(path, headers={"If-Modified-Since": answer.headers["last-modified"]})
        assert since.status_code == 304
    switched = client.get("/nieuws?lang=en")
    assert switched.headers["cache-control"].startswith("private")
    etag = client.get("/nieuws/rss.xml").headers["etag"]
    publish(news, "Nieuw bericht", "Er is iets nieuws.")
    changed = client.get("/nieuws/rss.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Nieuw bericht" in changed.text


def test_the_page_links_its_feeds_and_pages_on(news: Newsroom) -> None:
    made = [publish(news, f"Bericht {n}", f"Tekst {n}.") for n in range(12)]
    client = news.public()
    page = client.get("/nieuws")
    assert page.status_code == 200
    assert (
        '<link rel="alternate" type="application/rss+xml" title="Nieuws (RSS)"'
        f' href="{BASE}/nieuws/rss.xml">' in page.text
    )
    assert 'type="application/atom+xml"' in page.text
    assert "Bericht 11" in page.text
    assert "Bericht 1<" not in page.text  # on the next page
    older = made[2].id
    assert f'href="/nieuws?voor={older}"' in page.text
    second = client.get(f"/nieuws?voor={older}")
    assert "Bericht 1<" in second.text
    assert "Bericht 11" not in second.text


def test_items_by_address(news: Newsroom) -> None:
    item = publish(news, "Kerkstraat afgesloten", "De Kerkstraat is dicht.")
    hidden = publish(news, "Alleen Mastodon", "Niet hier.", ("mastodon",))
    client = news.public()
    assert client.get(f"/nieuws/{item.id}-{item.slug}").status_code == 200
    # A shortened address goes to the item's one address.
    moved = client.get(f"/nieuws/{item.id}")
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/nieuws/{item.id}-{item.slug}"
    assert client.get(f"/nieuws/{hidden.id}").status_code == 404
    assert client.get("/nieuws/999999").status_code == 404
    assert client.get("/nieuws/onzin").status_code == 404
