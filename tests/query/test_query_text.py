from __future__ import annotations

import re
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from stadspuls.query.text import fold, index_text, token_spans, tokens


def test_fold_examples() -> None:
    assert fold("Café ÜMIT") == "cafe umit"
    assert fold("ﬁets") == "fiets"
    assert fold("Straße") == "strasse"
    assert fold("İstanbul") == "istanbul"
    assert fold("ＰＳＶ") == "psv"  # full-width
    assert fold("’s-Hertogenbosch") == "’s-hertogenbosch"


def test_tokens() -> None:
    assert tokens(fold("Wi-Fi storing! https://politie.nl/x_y #Brand @u0123456789abcdef")) == [
        "wi", "fi", "storing", "https", "politie", "nl", "x", "y", "brand", "u0123456789abcdef",
    ]  # fmt: skip
    assert tokens("brand🔥loods 東京で火事") == ["brand", "loods", "東京で火事"]
    assert token_spans("a #bc") == [(0, 1), (3, 5)]
    assert index_text("Brand in de LOODS!!") == "brand in de loods"
    assert index_text("Grote #Brand, @u0123456789abcdef ＃Café #a_b") == (
        "grote brand u0123456789abcdef cafe a b"
        " hashtag0brand mention0u0123456789abcdef hashtag0cafe hashtag0a"
    )


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_fold_is_idempotent_and_tokens_are_stable(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    indexed = index_text(text).split()
    assert tokens(fold(" ".join(indexed))) == indexed
    assert indexed[: len(tokens(folded))] == tokens(folded)


def _fts5_tokens(docs: list[str]) -> dict[int, list[str]]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", list(enumerate(docs)))
    found: dict[int, list[tuple[int, str]]] = {}
    for doc, term, offset in db.execute("SELECT doc, term, offset FROM v"):
        found.setdefault(doc, []).append((offset, term))
    db.close()
    return {doc: [term for _, term in sorted(terms)] for doc, terms in found.items()}


def test_sqlite_fts5_sees_exactly_our_tokens_for_every_bmp_character() -> None:
    # What the archive indexes is index_text(); FTS5 must split and fold it exactly as we do,
    # or archive search and streaming could disagree.
    docs = [index_text(f"ab{chr(cp)}cd {chr(cp)}") for cp in range(0x10000)
            if not 0xD800 <= cp <= 0xDFFF]  # fmt: skip
    fts5 = _fts5_tokens(docs)
    mismatches = [d for i, d in enumerate(docs) if fts5.get(i, []) != d.split()]
    assert mismatches == []


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40))
@settings(max_examples=200, deadline=None)
def test_sqlite_fts5_agrees_on_random_text(text: str) -> None:
    assert _fts5_tokens([index_text(text)]).get(0, []) == index_text(text).split()


def _reference_fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return stripped.casefold()


def test_fold_follows_its_definition_for_every_bmp_character() -> None:
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF or 0x19B0 <= cp <= 0x19C9 or cp in (0x1CF2, 0x1CF3):
            continue  # surrogates; the letters unicode61 separates are folded to spaces
        char = chr(cp)
        folded = fold(char)
        assert folded == _reference_fold(char), hex(cp)
        assert fold(folded) == folded, hex(cp)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"])))
@settings(max_examples=200, deadline=None)
def test_fold_follows_its_definition_on_random_text(text: str) -> None:
    assert fold(text) == _reference_fold(text).translate(
        dict.fromkeys((*range(6576, 6593), 6600, 6601, 7410, 7411), " ")
    )


_REFERENCE_TOKEN = re.compile(
    r"(?:[^\W_]|[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd])+"
)


def test_tokens_are_runs_of_letters_digits_and_private_use() -> None:
    # Planes 0-1 (where scripts, marks and symbols are), and the edges of the private-use planes.
    starts = [*range(0, 0x20000, 0x1000), 0xE0000, 0xEF000, 0xF0000, 0xFF000, 0x100000, 0x10F000]
    for start in starts:
        chunk = fold(
            "".join(
                f"a{chr(cp)}b " for cp in range(start, start + 0x1000) if not 0xD800 <= cp <= 0xDFFF
            )
        )
        assert tokens(chunk) == _REFERENCE_TOKEN.findall(chunk), hex(start)
        assert [chunk[a:b] for a, b in token_spans(chunk)] == tokens(chunk), hex(start)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"])))
@settings(max_examples=300, deadline=None)
def test_tokens_agree_with_the_reference_pattern(text: str) -> None:
    folded = fold(text)
    assert tokens(folded) == _REFERENCE_TOKEN.findall(folded)
