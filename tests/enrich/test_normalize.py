from __future__ import annotations

from stadspuls.enrich.normalize import (
    Normaliser,
    extract_hashtags,
    extract_links,
    extract_mentions,
    normalise_text,
)
from tests.factories import make_post


def test_normalise_text_decodes_entities_and_collapses_whitespace() -> None:
    assert normalise_text("Brand&nbsp;in  de\tloods &amp; schuur") == "Brand in de loods & schuur"
    # NFC: "e" + combining acute becomes one code point.
    assert normalise_text("cafe\u0301") == "caf\u00e9"
    assert normalise_text("regel 1\r\n\r\n\r\n  regel 2  ") == "regel 1\n\nregel 2"


def test_entities_are_extracted() -> None:
    text = (
        "Kijk @gemeente.bsky.social en @politie@mastodon.nl: https://x.nl/a.jpg,"
        " #Brand #1 mail@x.nl"
    )
    assert extract_hashtags(text) == ["brand"]
    assert extract_mentions(text) == ["gemeente.bsky.social", "politie@mastodon.nl"]
    # ".@name" (X's way to make a reply public) is a mention; a profile URL is not.
    assert extract_mentions(".@Brandweer_NL zie https://mastodon.nl/@anna") == ["brandweer_nl"]
    assert extract_links(text) == ["https://x.nl/a.jpg"]


def test_normaliser_merges_platform_entities_without_duplicates() -> None:
    post = make_post(1, "Rook bij #Lochem http://a.nl/foto.png", hashtags=("Lochem", "dijk"))
    (out,) = Normaliser()([post])
    assert out.hashtags == ("lochem", "dijk")
    assert out.links == ("http://a.nl/foto.png",)
    assert out.media == ("http://a.nl/foto.png",)
    assert out.text == "Rook bij #Lochem http://a.nl/foto.png"
