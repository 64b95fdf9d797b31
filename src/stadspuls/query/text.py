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
on space-separated runs of letters and digits both engines see exactly our tokens. After them
come sigil tokens: "hashtag0x" for every token x directly after '#' in the folded text and
"mention0x" for one directly after '@', so that archive search narrows #tags and @mentions as
sharply as words. They come last, so positions (phrases, NEAR) of the real tokens do not move;
a query word that could hit them (one starting with a marker, a prefix of one) is translated as
inexact and checked by the matcher.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

__all__ = [
    "HASHTAG_MARK",
    "MARKS",
    "MENTION_MARK",
    "fold",
    "index_folded",
    "index_text",
    "token_spans",
    "tokens",
]

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


# bytes.translate table: ASCII letters, digits and every byte of a multi-byte UTF-8 sequence are
# kept, other ASCII becomes a space.
_ASCII_SEPARATORS = bytes(
    c if (0x30 <= c <= 0x39 or 0x61 <= c <= 0x7A or c >= 0x80) else 0x20 for c in range(256)
)


def _is_token_char(char: str) -> bool:
    code = ord(char)
    # str.isalnum is exactly the regex class [^\W_]: categories L* and N*.
    return (
        char.isalnum()
        or 0xE000 <= code <= 0xF8FF
        or 0xF0000 <= code <= 0xFFFFD
        or 0x100000 <= code <= 0x10FFFD
    )


def tokens(folded: str) -> list[str]:
    """The tokens of an already folded text, in order.

    The same as `_TOKEN.findall(folded)`, 2-3x faster: the few distinct non-ASCII separators are
    replaced by spaces, then one byte-level pass turns ASCII separators into spaces."""
    if not folded.isascii():
        for char in set(_NON_ASCII.findall(folded)):
            if not _is_token_char(char):
                folded = folded.replace(char, " ")
    return folded.encode().translate(_ASCII_SEPARATORS).decode().split()


def token_spans(folded: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the tokens of an already folded text."""
    if folded.isascii():
        pattern = _ASCII_TOKEN
    else:
        pattern = _LETTERS_DIGITS if _PRIVATE_USE.search(folded) is None else _TOKEN
    return [m.span() for m in pattern.finditer(folded)]


HASHTAG_MARK = "hashtag0"
MENTION_MARK = "mention0"
MARKS = {"#": HASHTAG_MARK, "@": MENTION_MARK}


def index_text(text: str) -> str:
    """What the full-text indexes store for a post's text: its folded tokens joined by spaces,
    then a sigil token (`HASHTAG_MARK` or `MENTION_MARK` + token) for every token that directly
    follows '#' or '@'."""
    return index_folded(fold(text))


def index_folded(folded: str) -> str:
    """`index_text` of a text already folded (`fold`), for callers that fold it anyway."""
    if "#" not in folded and "@" not in folded:
        return " ".join(tokens(folded))
    spans = token_spans(folded)
    words = [folded[start:end] for start, end in spans]
    words.extend(
        MARKS[folded[start - 1]] + folded[start:end]
        for start, end in spans
        if start > 0 and folded[start - 1] in MARKS
    )
    return " ".join(words)
