"""Bytes → text for documents whose encoding is undeclared or doubtful: fetched feeds (RSS, Atom,
JSON Feed) and, through `detect`, imported logs that are not UTF-8.

In order: a byte-order mark; the charset of the HTTP Content-Type; the XML declaration. A declared
encoding is used when the bytes decode with it, except that a single-byte declaration on bytes
that are valid UTF-8 with non-ASCII text is a wrong declaration (servers default to ISO-8859-1),
and UTF-8 is used. Without a (usable) declaration:

- valid UTF-8 is UTF-8;
- UTF-8 with stray bytes of another encoding (an aggregator copying items from a Windows-1252
  source into its UTF-8 feed) keeps its UTF-8 runs and reads the stray bytes as Windows-1252;
- anything else goes to a charset detector (charset-normalizer) that sees only the text between
  the tags, since markup is ASCII and says nothing about the encoding. Short texts often fit
  several single-byte encodings equally well; among the equally good readings, the encodings
  Dutch and Central-European publishers use win.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# Among readings as good as the detector's best, these win, in this order.
_PREFERRED = ("cp1252", "iso8859_15", "latin_1", "cp1250", "iso8859_2")
_EQUALLY_GOOD = 0.01  # difference in charset-normalizer's "chaos" (mess ratio) that is no evidence
_FALLBACK = "cp1252"  # WHATWG's default for undeclared legacy pages in Western Europe
_SINGLE_BYTE_WESTERN = frozenset({"iso8859_1", "iso8859_15", "cp1252", "ascii"})
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")
_TAG = re.compile(rb"<[^>]*>")
# Runs of well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
_UTF8_RUN = re.compile(
    rb"(?:[\x00-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]"
    rb"|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2})+"
)


def _codec(name: str | None) -> str | None:
    """Python's name for an encoding label, or None when Python does not know it."""
    if not name:
        return None
    try:
        return codecs.lookup(name).name.replace("-", "_")
    except LookupError:
        return None


def declared_encodings(content: bytes, content_type: str | None) -> list[str]:
    """The encodings the HTTP header and the XML declaration name, in that order."""
    found: list[str] = []
    header = _CHARSET.search(content_type or "")
    xml = _XML_ENCODING.match(content[:1024])
    for label in (header.group(1) if header else None, xml.group(1).decode() if xml else None):
        codec = _codec(label)
        if codec and codec not in found:
            found.append(codec)
    return found


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mixed(content: bytes) -> str | None:
    """UTF-8 with stray single-byte characters, decoded; None when there is no UTF-8 in it."""
    pieces: list[str] = []
    position = 0
    has_utf8 = False
    for run in _UTF8_RUN.finditer(content):
        if run.start() > position:
            pieces.append(content[position : run.start()].decode(_FALLBACK, "replace"))
        chunk = run.group()
        has_utf8 = has_utf8 or not chunk.isascii()
        pieces.append(chunk.decode("utf-8"))
        position = run.end()
    if position < len(content):
        pieces.append(content[position:].decode(_FALLBACK, "replace"))
    return "".join(pieces) if has_utf8 else None


def detect(content: bytes) -> str:
    """The detector's encoding for bytes without a declaration (see the module's note)."""
    matches = charset_normalizer.from_bytes(_TAG.sub(b" ", content))
    best = matches.best()
    if best is None:
        return _FALLBACK
    for name in _PREFERRED:
        for match in matches:
            if match.encoding == name and match.chaos <= best.chaos + _EQUALLY_GOOD:
                return name
    return str(best.encoding)


def decode_document(content: bytes, content_type: str | None = None) -> str:
    """The text of a fetched document (see the module's note for the order of evidence)."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            try:
                return content.decode(codec)
            except UnicodeDecodeError:
                break
    utf8 = _is_utf8(content)
    for codec in declared_encodings(content, content_type):
        if codec in _SINGLE_BYTE_WESTERN and utf8 and not content.isascii():
            return content.decode("utf-8")  # a wrong declaration: the bytes are UTF-8
        try:
            return content.decode(codec)
        except UnicodeDecodeError:
            continue  # wrongly declared: the bytes tell
    if utf8:
        return content.decode("utf-8")
    mixed = _mixed(content)
    if mixed is not None:
        return mixed
    return content.decode(detect(content), "replace")
