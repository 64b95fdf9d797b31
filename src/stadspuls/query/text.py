"""Text semantics of the query language, defined once for the matcher and both archive engines.

Folding: NFKD, strip every combining mark (general category M*), casefold. "Café" and "CAFE"
fold to "cafe"; "ﬁets" folds to "fiets"; "Straße" folds to "strasse". SQLite's unicode61 folds
every folded character to itself (checked over all code points with SQLite 3.40), so FTS5 sees
exactly our tokens; the 21 letters it takes for separators (New Tai Lue vowel signs and two Vedic
signs, letters since Unicode 8) are folded to spaces here.

Tokens: maximal runs of letters, digits and private-use characters (general categories L*, N*,
Co) of the folded text: the token characters of SQLite FTS5's unicode61 tokenizer. "_" and all
punctuation separate tokens, so "wi-fi" is the two tokens "wi" and "fi" and a URL
"https://politie.nl/x" holds the tokens "https", "politie", "nl" and "x".

What the archive indexes: `index_text(text)`, the tokens of the folded text joined by spaces,
both in SQLite's `posts_fts` and in PostgreSQL's `posts.tsv` (as
`to_tsvector('simple', index_text(text))`). PostgreSQL's default parser would otherwise make one
lexeme of an e-mail address, a host name or a hyphenated word and lose the parts the matcher sees;
on space-separated runs of letters and digits both engines see exactly our tokens.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

__all__ = ["fold", "index_text", "token_spans", "tokens"]

_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LETTERS_DIGITS = re.compile(r"[^\W_]+")  # L* and N*
# ... and private use (Co), which unicode61 also counts as token characters. Rare: only looked
# for when a text has any.
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
_TOKEN = re.compile(r"(?:[^\W_]|[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd])+")


@functools.cache
def _strip_table() -> dict[int, str | None]:
    """str.translate table: combining marks (M*) removed; the 21 letters SQLite's unicode61
    (Unicode 6.1 tables) takes for separators (New Tai Lue vowel signs, two Vedic signs) become
    spaces. Marks only exist in planes 0, 1 and 14."""
    table: dict[int, str | None] = {}
    for cp in itertools.chain(range(0x20000), range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(cp))[0] == "M":
            table[cp] = None
    for cp in (*range(0x19B0, 0x19C1), 0x19C8, 0x19C9, 0x1CF2, 0x1CF3):
        table[cp] = " "
    return table


def fold(text: str) -> str:
    """Fold case and accents: NFKD, drop combining marks, casefold (lower-case for ASCII)."""
    if text.isascii():
        return text.lower()
    table = _strip_table()
    decomposed = unicodedata.normalize("NFKD", text)
    # Replacing each distinct non-ASCII character is 3x faster than str.translate over the
    # whole text (a dict lookup per character), and texts hold few distinct ones.
    for char in set(_NON_ASCII.findall(decomposed)):
        replacement = table.get(ord(char), char)
        if replacement != char:
            decomposed = decomposed.replace(char, replacement or "")
    # No second pass needed: for every code point c, NFKD and mark removal leave
    # casefold(strip(NFKD(c))) unchanged (checked over all of Unicode 14).
    return decomposed.casefold()


def tokens(folded: str) -> list[str]:
    """The tokens of an already folded text, in order."""
    if folded.isascii():
        return _ASCII_TOKEN.findall(folded)
    if _PRIVATE_USE.search(folded) is None:
        return _LETTERS_DIGITS.findall(folded)
    return _TOKEN.findall(folded)


def token_spans(folded: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the tokens of an already folded text."""
    if folded.isascii():
        pattern = _ASCII_TOKEN
    else:
        pattern = _LETTERS_DIGITS if _PRIVATE_USE.search(folded) is None else _TOKEN
    return [m.span() for m in pattern.finditer(folded)]


def index_text(text: str) -> str:
    """What the full-text indexes store for a post's text: its folded tokens joined by spaces."""
    return " ".join(tokens(fold(text)))
