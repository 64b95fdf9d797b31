from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stadspuls.enrich.normalize import Normaliser
from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from tests.factories import make_post


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
