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

import re
import unicodedata

__all__ = ["fold", "index_text", "token_spans", "tokens"]

_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
# Letters for Python, separators for SQLite's unicode61 (Unicode 6.1 tables).
_SEPARATORS = {cp: " " for cp in (*range(0x19B0, 0x19C1), 0x19C8, 0x19C9, 0x1CF2, 0x1CF3)}
# [^\W_] is a letter or digit (L*, N*); the explicit ranges are the private-use planes (Co).
_TOKEN = re.compile(r"(?:[^\W_]|[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd])+")


def fold(text: str) -> str:
    """Fold case and accents: NFKD, drop combining marks, casefold (lower-case for ASCII)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    folded = stripped.casefold()
    if folded.isascii():
        return folded
    # Case folding can yield characters that decompose again (e.g. "İ" → "i̇"): one more pass.
    again = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in again if not unicodedata.category(c).startswith("M")).translate(
        _SEPARATORS
    )


def tokens(folded: str) -> list[str]:
    """The tokens of an already folded text, in order."""
    if folded.isascii():
        return _ASCII_TOKEN.findall(folded)
    return _TOKEN.findall(folded)


def token_spans(folded: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the tokens of an already folded text."""
    pattern = _ASCII_TOKEN if folded.isascii() else _TOKEN
    return [m.span() for m in pattern.finditer(folded)]


def index_text(text: str) -> str:
    """What the full-text indexes store for a post's text: its folded tokens joined by spaces."""
    return " ".join(tokens(fold(text)))
