"""A reply longer than one post becomes a numbered thread: split at paragraph, sentence or word
boundaries, never inside a word unless the word itself is too long. Decided over refusing: a
reply from a reviewed template should reach the citizen whole, whatever its length."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_PARTS = 10  # a reply of more than ten posts is not a reply; staff should shorten it
_SUFFIX = " (10/10)"  # the longest numbering, reserved in every part of a thread
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


class TooLong(ValueError):
    pass


def graphemes(text: str) -> int:
    """User-perceived characters, as Bluesky counts its 300: a base character with its
    combining marks, variation selectors, skin tones and zero-width-joined emoji counts once,
    and a pair of regional indicators (a flag) counts once. An approximation of Unicode's
    extended grapheme clusters (UAX #29) good for the text of replies, without a dependency."""
    count = 0
    joined = False
    flag_half = False
    for char in text:
        code = ord(char)
        if joined:
            joined = False
            continue
        if char == "\u200d":
            joined = True
            continue
        if (
            unicodedata.category(char) in ("Mn", "Me", "Mc")
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        ):
            continue
        if 0x1F1E6 <= code <= 0x1F1FF:
            if flag_half:
                flag_half = False
                continue
            flag_half = True
        else:
            flag_half = False
        count += 1
    return count


def split_text(text: str, *, limit: int, count: Callable[[str], int] = len) -> list[str]:
    """`text` in parts of at most `limit` (as `count` measures), numbered "(1/3)" when more
    than one. Raises TooLong past MAX_PARTS parts."""
    text = text.strip()
    if count(text) <= limit:
        return [text]
    room = limit - count(_SUFFIX)
    if room < 20:
        raise TooLong(f"{limit} characters leave no room for a thread")
    parts: list[str] = []
    rest = text
    while rest:
        if count(rest) <= room:
            parts.append(rest)
            break
        cut = _cut(rest, room, count)
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if len(parts) > MAX_PARTS:
        raise TooLong(f"the reply needs {len(parts)} posts; at most {MAX_PARTS} are sent")
    return [f"{part} ({n}/{len(parts)})" for n, part in enumerate(parts, start=1)]


def _cut(text: str, room: int, count: Callable[[str], int]) -> int:
    """Where to cut: the last paragraph, else sentence, else word break that fits."""
    fits = len(text)
    while count(text[:fits]) > room:
        fits -= max(1, (count(text[:fits]) - room) // 2)
    for pattern in _BREAKS:
        found = [m.start() for m in pattern.finditer(text, 0, fits + 1) if m.start() > room // 3]
        if found:
            return found[-1]
    return fits
