"""The text each channel gets, counted as the channel counts it, split into a thread when long."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from stadspuls.publish.bluesky import BlueskyTarget
from stadspuls.publish.news import NewsTarget, slugify
from stadspuls.publish.preview import (
    BLUESKY_LIMIT,
    BLUESKY_NO_CARD,
    MASTODON_LIMIT,
    THREAD,
    TOO_LONG,
    WARNINGS,
    bluesky_length,
    bluesky_preview,
    card_description,
    mastodon_length,
    mastodon_preview,
    short_link,
    shorten_links,
)
from stadspuls.publish.records import MediaItem, Publication
from stadspuls.settings import BlueskyAccountSettings
from stadspuls.web import i18n

_NUMBER = re.compile(r" \(\d+/\d+\)$")
WORD = st.lists(
    st.sampled_from([*"abcdeéëfghijklmnoöpqrstuvwxyz", "👍🏽", "🇳🇱", "u\u0308"]),
    min_size=1,
    max_size=12,
).map("".join)
LINK = st.builds(lambda path: f"https://www.gemeente.nl/{path}", st.text("abcdef/-", max_size=80))
TEXT = st.lists(st.one_of(WORD, WORD, WORD, LINK), min_size=1, max_size=300).map(" ".join)


def publication(body: str, **fields: object) -> Publication:
    return Publication(title="Brand in de Kerkstraat", body=body, **fields)  # type: ignore[arg-type]


def test_mastodon_counts_every_link_as_23_and_remote_mentions_without_their_domain() -> None:
    long_link = "https://www.gemeente.nl/" + "a" * 200
    assert mastodon_length(f"Zie {long_link}.") == len("Zie ") + 23 + 1
    assert mastodon_length("http://x.nl") == 23
    assert mastodon_length("Dank @politie@mastodon.nl!") == len("Dank @politie!")
    assert mastodon_length("héél 👍🏽") == len("héél 👍🏽")


def test_bluesky_counts_graphemes_not_code_points() -> None:
    assert bluesky_length("👍🏽🇳🇱") == 2
    assert bluesky_length("e\u0301") == 1
    assert bluesky_length("straat") == 6


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_every_mastodon_part_fits_and_no_word_is_lost(text: str) -> None:
    preview = mastodon_preview(publication(text), news_url=None)
    assert preview.limit == MASTODON_LIMIT
    if preview.fits:
        assert all(mastodon_length(part) <= MASTODON_LIMIT for part in preview.parts)
        assert preview.length == max(mastodon_length(part) for part in preview.parts)
    parts = (
        [_NUMBER.sub("", part) for part in preview.parts]
        if len(preview.parts) > 1
        else list(preview.parts)
    )
    assert " ".join(parts).split() == text.split()


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_every_bluesky_part_fits_in_300_graphemes_and_parts_are_numbered(text: str) -> None:
    preview = bluesky_preview(publication(text), news_url=None)
    if not preview.fits:
        assert TOO_LONG in preview.warnings
        return
    assert all(bluesky_length(part) <= BLUESKY_LIMIT for part in preview.parts)
    shown, _ = shorten_links(text.strip())  # links shown short, as Bluesky's app does
    if bluesky_length(shown) <= BLUESKY_LIMIT:
        assert preview.parts == (shown,)
    else:
        count = len(preview.parts)
        assert count > 1
        for number, part in enumerate(preview.parts, start=1):
            assert part.endswith(f" ({number}/{count})")
        assert THREAD in preview.warnings


def test_a_variant_replaces_the_body_for_its_own_target_only() -> None:
    item = publication("De lange tekst voor Mastodon.", variants={"bluesky": "Kort."})
    assert bluesky_preview(item, news_url=None).parts == ("Kort.",)
    assert mastodon_preview(item, news_url=None).parts == ("De lange tekst voor Mastodon.",)


def test_the_link_is_added_once_and_bluesky_gets_a_card_from_the_publication() -> None:
    item = publication("Ramen en deuren dicht.", link="https://www.gemeente.nl/brand")
    preview = bluesky_preview(item, news_url="http://stad.nl/nieuws/1-brand")
    assert preview.parts == ("Ramen en deuren dicht.\n\nwww.gemeente.nl/brand",)
    assert preview.card_url == "https://www.gemeente.nl/brand"
    assert preview.card_title == "Brand in de Kerkstraat"
    assert preview.card_description == "Ramen en deuren dicht."
    already = publication(
        "Lees https://www.gemeente.nl/brand", link="https://www.gemeente.nl/brand"
    )
    assert mastodon_preview(already, news_url=None).parts == ("Lees https://www.gemeente.nl/brand",)


def test_without_a_link_the_news_page_is_the_link_when_news_is_a_target() -> None:
    news = NewsTarget("https://stad.example.nl/")
    item = publication("Ramen dicht.", id=7, targets=("news", "bluesky"))
    url = news.url_of(item)
    assert url == "https://stad.example.nl/nieuws/7-brand-in-de-kerkstraat"
    assert bluesky_preview(item, news_url=url).card_url == url
    elsewhere = publication("Ramen dicht.", id=7, targets=("bluesky",))
    preview = bluesky_preview(elsewhere, news_url=url)
    assert preview.card_url is None
    assert preview.parts == ("Ramen dicht.",)


def test_with_images_bluesky_keeps_the_link_in_the_text_without_a_card() -> None:
    photo = MediaItem(sha256="a" * 64, content_type="image/jpeg", alt="Rook boven de Kerkstraat")
    item = publication("Ramen dicht.", link="https://www.gemeente.nl/brand", media=(photo,))
    preview = bluesky_preview(item, news_url=None)
    assert preview.card_url is None
    assert preview.parts == ("Ramen dicht.\n\nwww.gemeente.nl/brand",)
    assert BLUESKY_NO_CARD in preview.warnings
    on_mastodon = mastodon_preview(item, news_url=None)
    assert on_mastodon.card_url is None  # Mastodon, too, shows no card beside media
    assert "https://www.gemeente.nl/brand" in on_mastodon.parts[0]
    without = mastodon_preview(publication("Ramen dicht.", link="https://x.nl/a"), news_url=None)
    assert without.card_url == "https://x.nl/a"


def test_missing_alt_text_and_too_many_images_do_not_fit() -> None:
    blank = MediaItem(sha256="b" * 64, content_type="image/png", alt=" ")
    assert not mastodon_preview(publication("Tekst", media=(blank,)), news_url=None).fits
    photo = MediaItem(sha256="c" * 64, content_type="image/png", alt="Kaart van de wijk")
    five = publication("Tekst", media=(photo,) * 5)
    assert not bluesky_preview(five, news_url=None).fits
    assert mastodon_preview(publication("Tekst", media=(photo,) * 4), news_url=None).fits


def test_a_text_too_long_for_ten_posts_does_not_fit_and_says_so() -> None:
    preview = bluesky_preview(publication("woord " * 1000), news_url=None)
    assert not preview.fits
    assert preview.parts == (("woord " * 1000).strip(),)
    assert preview.warnings == (TOO_LONG,)


def test_an_empty_text_does_not_fit() -> None:
    assert not mastodon_preview(publication("  "), news_url=None).fits


def test_a_smaller_instance_limit_is_honoured() -> None:
    preview = mastodon_preview(publication("woord " * 60), news_url=None, limit=100)
    assert preview.limit == 100
    assert len(preview.parts) > 1
    assert all(mastodon_length(part) <= 100 for part in preview.parts)


def test_the_card_description_is_the_start_of_the_text_cut_at_a_word() -> None:
    description = card_description(publication("Rook " * 100))
    assert len(description) <= 200
    assert description.endswith("Rook…")


def test_slugs_are_readable_ascii() -> None:
    assert slugify("Brand in de Kerkstraat: ramen dicht!") == "brand-in-de-kerkstraat-ramen-dicht"
    assert slugify("Überstroming café ’t Hoekje") == "uberstroming-cafe-t-hoekje"
    assert slugify("🔥🔥") == "bericht"
    assert len(slugify("woord " * 40)) <= 60


def test_before_it_is_saved_the_news_link_is_shown_and_counted() -> None:
    news = NewsTarget("https://stad.example.nl")
    draft = publication("x " * 140, targets=("news", "bluesky"))  # 279 graphemes, no id yet
    target = BlueskyTarget(
        BlueskyAccountSettings(handle="g.bsky.social", app_password_file=Path("/nonexistent")),
        news,
    )
    preview = target.preview(draft, public_url=None)
    provisional = "https://stad.example.nl/nieuws/…-brand-in-de-kerkstraat"
    assert preview.parts[-1].endswith("stad.example.nl/nieuws/…-bra... (2/2)")
    assert preview.card_url == provisional
    # The text alone fits one post; with the link it does not: a thread, said before saving.
    assert len(preview.parts) == 2
    saved = target.preview(draft, public_url="https://stad.example.nl/nieuws/4-brand")
    assert saved.card_url == "https://stad.example.nl/nieuws/4-brand"


def test_bluesky_shows_links_short_as_its_app_does() -> None:
    assert short_link("https://stad.example.nl/nieuws/12-brand-in-de-kerkstraat") == (
        "stad.example.nl/nieuws/12-br..."
    )
    assert short_link("https://www.gemeente.nl/brand?x=1") == "www.gemeente.nl/brand?x=1"
    assert short_link("https://x.nl/") == "x.nl"
    long_a = "https://stad.nl/nieuws/12-brand-in-de-kerkstraat"
    long_b = "https://stad.nl/nieuws/12-brand-in-de-molenstraat"
    shown, links = shorten_links(f"Zie {long_a} en {long_b}.")
    # Both would read "stad.nl/nieuws/12-br...": the first is shown short, the second whole.
    assert shown == f"Zie stad.nl/nieuws/12-br... en {long_b}."
    assert links == {"stad.nl/nieuws/12-br...": long_a}


def test_every_warning_has_a_dutch_translation() -> None:
    dutch = i18n.catalogue("nl")
    for warning in WARNINGS:
        assert dutch.gettext(warning) != warning, warning
    assert dutch.gettext(THREAD).startswith("Langer dan één bericht")
    assert i18n.catalogue("en").gettext(THREAD) == THREAD
