"""Dutch municipalities and main places named in a post's text.

The table (`data/places_nl.csv`, built by scripts/build_places.py from CBS/PDOK municipality data
and GeoNames places, see data/ATTRIBUTION.md) maps ~700 names, colloquial forms included
("Den Bosch", "A'dam", "Den Haag"), to a CBS municipality code and coordinates (the municipality's
centroid, or the place's own point). One Aho-Corasick automaton over case- and accent-folded
names finds candidates in a single pass; a candidate counts when

- it stands on word boundaries ("Utrechtse" is not "Utrecht"; "Amsterdam-Noord" is Amsterdam),
- it is the longest candidate at its position ("Bergen op Zoom" over "Bergen"),
- its case fits how ambiguous the name is: level 0 names ("Utrecht") match in any case, level 1
  names (also an ordinary word somewhere: "Goes", "Leiden") need a capital, level 2 names
  (everyday words: "Best", "Sluis", "Bergen", "Huizen") need a capital and a locative cue
  before them ("in Best", "uit Sluis", "gemeente Bergen") or a hashtag ("#Best").

Only the text is used: never the author's profile, never the post's coordinates, and the post's
`lat`/`lon` are left as they are (a place named is not where the author is).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick
import msgspec

from stadspuls.records import Place, Post

TABLE = Path(__file__).parent / "data" / "places_nl.csv"

# Words that, right before an ambiguous name, make it a place ("brand in Best").
CUES = frozenset(
    [
        "in",
        "te",
        "bij",
        "uit",
        "naar",
        "rond",
        "nabij",
        "richting",
        "gemeente",
        "omgeving",
        "regio",
        "vanuit",
        "centrum",
        "station",
        "tussen",
        "via",
        "door",
        "near",
        "from",
        "to",
        "at",
    ]
)


def _fold_table() -> dict[int, str]:
    table = {ord("’"): "'", ord("‘"): "'", ord("`"): "'"}
    for code in range(0xC0, 0x250):  # Latin-1 Supplement and Latin Extended-A/B
        base = unicodedata.normalize("NFKD", chr(code))[0]
        if base.isascii() and base.isalpha():
            table[code] = base
    return table


_FOLD = _fold_table()


_FOLDABLE = re.compile("[" + "".join(map(chr, _FOLD)) + "]")
# Everything but letters, digits and the apostrophe ("A'dam", "'s-Hertogenbosch") separates words.
# ASCII punctuation goes through a byte table on the UTF-8 bytes (the fastest path CPython has);
# non-ASCII punctuation, symbols and emoji through a regex of code point ranges.
_ASCII_SEPARATORS = bytes(
    32 if c < 128 and not (chr(c).isalnum() or chr(c) in "_'") else c for c in range(256)
)
_OTHER_SEPARATORS = re.compile(
    "[\u00a0-\u00bf\u00d7\u00f7\u2000-\u206f\u2190-\u2bff\u3000-\u303f"
    "\ufe00-\ufe0f\U0001f000-\U0001faff]"
)


def _fold_char(match: re.Match[str]) -> str:
    return _FOLD[ord(match.group())]


def fold(text: str) -> str:
    """Lower case without accents, one kind of apostrophe; keeps the length (offsets stay)."""
    if text.isascii():
        return text.lower()
    folded = _FOLDABLE.sub(_fold_char, text).lower()
    if len(folded) != len(text):  # a rare character whose lower case is longer ("İ")
        folded = "".join(ch.lower()[0] for ch in _FOLDABLE.sub(_fold_char, text))
    return folded


def key(text: str) -> str:
    """The matcher's view: folded, separators as spaces, padded with a space on each side.

    Names are stored the same way, so a hit always starts and ends on a word boundary and
    "'s-Hertogenbosch", "'s Hertogenbosch" and "’s-Hertogenbosch" are one key. Offsets in the
    key are offsets in the text plus one.
    """
    folded = fold(text).encode().translate(_ASCII_SEPARATORS).decode()
    if not folded.isascii():
        folded = _OTHER_SEPARATORS.sub(" ", folded)
    return " " + folded + " "


@dataclass(frozen=True)
class Entry:
    place: Place
    ambiguous: int  # 0: any case, 1: needs a capital, 2: needs a capital and a cue or hashtag


def load_table(path: Path = TABLE) -> list[Entry]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Entry(
                Place(
                    code=row["code"],
                    name=row["name"],
                    municipality=row["municipality"],
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                ),
                int(row["ambiguous"]),
            )
            for row in csv.DictReader(handle)
        ]


@lru_cache(maxsize=4)
def _automaton(path: Path) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for entry in load_table(path):
        name_key = key(entry.place.name)
        automaton.add_word(name_key, (len(name_key), entry))
    automaton.make_automaton()
    return automaton


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _previous_word(text: str, start: int) -> str:
    end = start
    while end > 0 and not _is_word_char(text[end - 1]):
        end -= 1
    begin = end
    while begin > 0 and _is_word_char(text[begin - 1]):
        begin -= 1
    return text[begin:end].lower()


class PlaceMatcher:
    """Finds the places named in a text, in order of appearance, each municipality once."""

    def __init__(self, table: Path = TABLE) -> None:
        self._automaton = _automaton(table)

    def find(self, text: str) -> list[Place]:
        padded = key(text)
        candidates: list[tuple[int, int, Entry]] = []
        for last, (length, entry) in self._automaton.iter(padded):
            # padded[j] is text[j - 1]; the hit spans padded[last - length + 1 .. last].
            candidates.append((last - length + 1, last - 1, entry))
        if not candidates:
            return []
        # Leftmost-longest, non-overlapping.
        candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        found: list[Place] = []
        seen: set[str] = set()
        reach = -1
        for start, end, entry in candidates:
            if start < reach:
                continue
            written = text[start:end]
            if not self._accept(text, start, written, entry.ambiguous):
                continue
            reach = end
            if entry.place.code in seen:
                continue
            seen.add(entry.place.code)
            found.append(msgspec.structs.replace(entry.place, name=written))
        return found

    @staticmethod
    def _accept(text: str, start: int, written: str, ambiguous: int) -> bool:
        if ambiguous == 0:
            return True
        first = next((ch for ch in written if ch.isalpha()), "")
        if not first.isupper():
            return False
        if ambiguous == 1:
            return True
        if start > 0 and text[start - 1] == "#":
            return True
        return _previous_word(text, start) in CUES


class PlaceRecognizer:
    """Enricher: sets `Post.places` from the text; leaves `lat`/`lon` alone.

    Places a source already gave (P2000 resolves the dispatch system's place codes, "SGRAVH",
    which no text matcher reads) come first and stay; the text adds the municipalities it names.
    """

    name = "places"

    def __init__(self, table: Path = TABLE) -> None:
        self.matcher = PlaceMatcher(table)

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        return [msgspec.structs.replace(post, places=self._places(post)) for post in posts]

    def _places(self, post: Post) -> tuple[Place, ...]:
        found = self.matcher.find(post.text)
        if not post.places:
            return tuple(found)
        given = {place.code for place in post.places}
        return (*post.places, *(place for place in found if place.code not in given))
