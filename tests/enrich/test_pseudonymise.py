from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stadspuls.enrich.normalize import Normaliser
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.records import Deletion
from stadspuls.sealed import Sealer, SealError, is_sealed
from tests.factories import T0, make_post

SEALER = Sealer(b"s" * 32)


def test_key_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_short_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("abcd\n")
    with pytest.raises(ValueError, match="shorter than 128 bits"):
        load_or_create_key(path)


def test_authors_and_mentions_become_keyed_pseudonyms() -> None:
    pseudo = Pseudonymiser(b"k" * 32)
    post = make_post(1, "Hoi @Jan.bsky.social, zie je de rook?", author="piet.bsky.social")
    (out,) = pseudo(Normaliser()([post]))
    assert out.author is None
    assert out.author_key == pseudo.pseudonym("piet.bsky.social")
    assert "jan" not in out.text.lower()
    assert out.text == f"Hoi @{pseudo.pseudonym('jan.bsky.social')}, zie je de rook?"
    assert out.mentions == (pseudo.pseudonym("jan.bsky.social"),)
    # Case and a leading @ do not matter; the key does.
    assert pseudo.pseudonym("@JAN.bsky.social") == pseudo.pseudonym("jan.bsky.social")
    assert Pseudonymiser(b"x" * 32).pseudonym("jan.bsky.social") != pseudo.pseudonym(
        "jan.bsky.social"
    )
    assert out.author_key is not None
    assert out.author_key.startswith("u")
    assert len(out.author_key) == 17


def test_mentions_can_be_kept_by_deployment_choice() -> None:
    pseudo = Pseudonymiser(b"k" * 32, mentions=False)
    (out,) = pseudo(Normaliser()([make_post(1, "Dank @brandweer!", author="a")]))
    assert out.text == "Dank @brandweer!"
    assert out.mentions == ("brandweer",)
    assert out.author is None


def test_ids_and_references_are_keyed_the_same_way_every_time() -> None:
    pseudo = Pseudonymiser(b"k" * 32, SEALER)
    raw = "bluesky:did:plc:4hqjfn7m6n5hno3doamuhgef/3lbqz2a7ywk2c"
    post = make_post(
        1,
        id=raw,
        source="bluesky",
        native_id=raw.split(":", 1)[1],
        reply_to="bluesky:did:plc:ewvi7nxzyoun6zhxrhs64oiz/3lbqz1",
        repost_of="mastodon:mastodon.nl/users/anna/statuses/1",
    )
    (out,) = pseudo([post])
    (again,) = Pseudonymiser(b"k" * 32, SEALER)([post])
    assert out.id == again.id == pseudo.post_id(raw)
    assert out.id.startswith("bluesky:")
    assert out.native_id == out.id.removeprefix("bluesky:")
    assert len(out.native_id) == 32
    assert "did:" not in out.id
    assert out.reply_to == pseudo.post_id("bluesky:did:plc:ewvi7nxzyoun6zhxrhs64oiz/3lbqz1")
    assert out.repost_of == pseudo.post_id("mastodon:mastodon.nl/users/anna/statuses/1")
    assert "anna" not in (out.repost_of or "")
    # A deletion carries the platform id: it finds the stored post.
    assert pseudo.deletions([Deletion(raw, T0)]) == [Deletion(out.id, T0)]
    # An id not shaped "source:native" keeps nothing of itself in the clear.
    assert pseudo.post_id("did:plc:abc/1").startswith("post:")
    assert pseudo.post_id("anna.bsky.social/1").startswith("post:")
    # Another key, other ids; an id's hash is not the pseudonym of the same string.
    assert Pseudonymiser(b"x" * 32).post_id(raw) != out.id
    assert pseudo.post_id("test:anna").split(":")[1][:16] != pseudo.pseudonym("test:anna")[1:]


def test_profile_urls_dids_and_all_mention_forms_leave_the_text() -> None:
    pseudo = Pseudonymiser(b"k" * 32, SEALER)
    p = pseudo.pseudonym
    text = (
        "Zie https://x.com/AnnaB/status/1589671906718134272 en twitter.com/Jan_V, "
        ".@kees_nl zegt https://mastodon.social/@bert/113525 en @piet@mastodon.nl; "
        "https://mastodon.nl/users/anna/statuses/1 bsky.app/profile/lisa.bsky.social/post/3k. "
        "Ook did:plc:ewvi7nxzyoun6zhxrhs64oiz en at://did:web:example.org/app.bsky.feed.post/1"
    )
    (out,) = pseudo(Normaliser()([make_post(1, text, author="x")]))
    assert out.text == (
        f"Zie @{p('annab')} en @{p('jan_v')}, "
        f".@{p('kees_nl')} zegt @{p('bert@mastodon.social')} en @{p('piet@mastodon.nl')}; "
        f"@{p('anna@mastodon.nl')} @{p('lisa.bsky.social')}. "
        f"Ook @{p('did:plc:ewvi7nxzyoun6zhxrhs64oiz')} en at://@{p('did:web:example.org')}"
        "/app.bsky.feed.post/1"
    )
    assert p("kees_nl") in out.mentions
    # What names nobody stays: e-mail addresses, X's own paths, news links.
    plain = "Mail info@gemeente.nl of zie https://x.com/i/web/status/1 en https://nos.nl/l/123"
    assert pseudo.text(plain) == plain


def test_profile_urls_with_a_port_or_on_localhost_leave_the_text() -> None:
    pseudo = Pseudonymiser(b"k" * 32, SEALER)
    p = pseudo.pseudonym
    out = pseudo.text("https://mastodon.nl:443/@anna/1 en http://localhost:3000/@test_user")
    assert out == f"@{p('anna@mastodon.nl')} en @{p('test_user@localhost')}"


def test_a_bare_mention_is_the_platforms_qualified_account() -> None:
    pseudo = Pseudonymiser(b"k" * 32, SEALER)
    p = pseudo.pseudonym
    post = make_post(1, "@anna kijk even", author="x", mentions=("anna@mastodon.nl", "anna"))
    (out,) = pseudo([post])
    assert out.mentions == (p("anna@mastodon.nl"),)
    assert out.text == f"@{p('anna@mastodon.nl')} kijk even"


def test_profile_urls_are_pseudonymised_even_when_mentions_are_kept() -> None:
    pseudo = Pseudonymiser(b"k" * 32, SEALER, mentions=False)
    out = pseudo.text("Dank @brandweer, zie https://mastodon.nl/@anna en did:plc:abc")
    assert out == (
        f"Dank @brandweer, zie @{pseudo.pseudonym('anna@mastodon.nl')}"
        f" en @{pseudo.pseudonym('did:plc:abc')}"
    )


def test_urls_links_and_media_are_sealed_for_their_post() -> None:
    pseudo = Pseudonymiser(b"k" * 32, SEALER)
    post = make_post(
        1,
        "foto",
        url="https://bsky.app/profile/did:plc:abc/post/1",
        links=("https://nos.nl/a",),
        media=("https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:abc/bafk@jpeg",),
    )
    (out,) = pseudo([post])
    assert out.url is not None
    assert all(map(is_sealed, (out.url, *out.links, *out.media)))
    assert "did:" not in out.url + "".join(out.links + out.media)
    assert SEALER.open(out.url, out.id) == post.url
    assert SEALER.open(out.media[0], out.id) == post.media[0]
    with pytest.raises(SealError):
        SEALER.open(out.url, pseudo.post_id("test:2"))  # sealed for another post
    with pytest.raises(SealError):
        Sealer(b"t" * 32).open(out.url, out.id)  # another key
    with pytest.raises(ValueError, match="without a sealer"):
        Pseudonymiser(b"k" * 32)([post])
