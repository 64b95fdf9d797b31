"""What a file is, by its first bytes: never by its name or the type its sender declared.

Photos are told apart here only roughly (the decoder, Pillow, confirms the format by decoding
it); videos are taken by their container signature alone, since nothing here decodes video.
Every other kind is named, so that a refusal can say what the file was ("it is HTML").
"""

from __future__ import annotations

from dataclasses import dataclass

# Enough for every signature below, including an SVG or HTML page after an XML prolog or a BOM.
HEAD_BYTES = 4096


@dataclass(frozen=True)
class Sniffed:
    """`content_type` of a kind we take ("image/jpeg", "video/mp4"), or None with `label` naming
    what it is in both languages ("HTML", "een zip-archief" / "a zip archive")."""

    content_type: str | None
    label_nl: str
    label_en: str

    @property
    def accepted(self) -> bool:
        return self.content_type is not None

    @property
    def is_video(self) -> bool:
        return self.content_type is not None and self.content_type.startswith("video/")


def _take(content_type: str, label: str) -> Sniffed:
    return Sniffed(content_type, label, label)


def _refuse(nl: str, en: str | None = None) -> Sniffed:
    return Sniffed(None, nl, en or nl)


# MP4 and QuickTime files start with an `ftyp` box naming a major brand. HEIF/HEIC (decoded with
# pillow-heif) and AVIF (refused by name: not taken yet, docs/media.md) use the same box.
_MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"M4VP",
        b"MSNV",
        b"dash",
        b"3gp4",
        b"3gp5",
        b"3gp6",
        b"3g2a",
    }
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
# QuickTime files written without `ftyp` (older iPhones) start with one of these atoms.
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def _ftyp(head: bytes) -> Sniffed | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
            return _take("video/quicktime", "QuickTime")
        return None
    brand = head[8:12]
    if brand == b"qt  ":
        return _take("video/quicktime", "QuickTime")
    if brand in _HEIF_BRANDS:
        return _take("image/heic", "HEIC")
    if brand in _AVIF_BRANDS:
        return _refuse(
            "AVIF, dat we nog niet kunnen openen: stuur de foto als JPEG",
            "AVIF, which we cannot open yet: please send the photo as JPEG",
        )
    if brand in _MP4_BRANDS:
        return _take("video/mp4", "MP4")
    return _refuse(
        f"een onbekend video- of beeldformaat ({brand!r})", f"an unknown format ({brand!r})"
    )


def _markup(head: bytes) -> Sniffed | None:
    """HTML, SVG and other XML, after an optional BOM, whitespace and XML prolog."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if not text.startswith(b"<"):
        return None
    if b"<svg" in text:
        return _refuse(
            "SVG, een tekening die code kan bevatten", "SVG, a drawing that can hold code"
        )
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<meta")):
        return _refuse("HTML")
    if b"<html" in text:
        return _refuse("HTML")
    if text.startswith(b"<?xml"):
        return _refuse("XML")
    return _refuse("HTML of XML", "HTML or XML")


# (prefix, offset, Dutch label, English label) of kinds we refuse by name.
_REFUSED: tuple[tuple[bytes, int, str, str], ...] = (
    (b"%PDF", 0, "een PDF-document", "a PDF document"),
    (b"PK\x03\x04", 0, "een zip-archief", "a zip archive"),
    (b"PK\x05\x06", 0, "een leeg zip-archief", "an empty zip archive"),
    (b"PK\x07\x08", 0, "een zip-archief", "a zip archive"),
    (b"\x1f\x8b", 0, "een gzip-archief", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "een 7-Zip-archief", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", 0, "een RAR-archief", "a RAR archive"),
    (b"BZh", 0, "een bzip2-archief", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", 0, "een xz-archief", "an xz archive"),
    (b"ustar", 257, "een tar-archief", "a tar archive"),
    (b"\x7fELF", 0, "een Linux-programma", "a Linux program"),
    (b"MZ", 0, "een Windows-programma", "a Windows program"),
    (b"\xcf\xfa\xed\xfe", 0, "een macOS-programma", "a macOS program"),
    (b"\xca\xfe\xba\xbe", 0, "een programma", "a program"),
    (b"#!", 0, "een script", "a script"),
    (b"\xd0\xcf\x11\xe0", 0, "een Office-document", "an Office document"),
    (b"{\\rtf", 0, "een RTF-document", "an RTF document"),
    (b"ID3", 0, "een geluidsbestand", "an audio file"),
    (b"OggS", 0, "een Ogg-bestand: stuur video als MP4", "an Ogg file: please send video as MP4"),
    (b"fLaC", 0, "een geluidsbestand", "an audio file"),
    (b"II*\x00", 0, "TIFF: stuur de foto als JPEG", "TIFF: please send the photo as JPEG"),
    (b"MM\x00*", 0, "TIFF: stuur de foto als JPEG", "TIFF: please send the photo as JPEG"),
    (b"BM", 0, "BMP: stuur de foto als JPEG", "BMP: please send the photo as JPEG"),
    (b"8BPS", 0, "een Photoshop-bestand", "a Photoshop file"),
)


def sniff(head: bytes) -> Sniffed:
    """Classify a file by its first `HEAD_BYTES` bytes."""
    if not head:
        return _refuse("een leeg bestand", "an empty file")
    if head.startswith(b"\xff\xd8\xff"):
        return _take("image/jpeg", "JPEG")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _take("image/png", "PNG")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _take("image/gif", "GIF")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _take("image/webp", "WebP")
    if head.startswith(b"RIFF"):
        return _refuse("een geluids- of AVI-bestand", "an audio or AVI file")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # Matroska and WebM share EBML; the DocType says which. Only WebM is taken: browsers
        # play it, and a Matroska file may carry anything.
        if b"webm" in head[:64]:
            return _take("video/webm", "WebM")
        return _refuse("Matroska: stuur video als MP4", "Matroska: please send video as MP4")
    found = _ftyp(head)
    if found is not None:
        return found
    for prefix, offset, nl, en in _REFUSED:
        if head[offset : offset + len(prefix)] == prefix:
            return _refuse(nl, en)
    found = _markup(head)
    if found is not None:
        return found
    if _looks_like_text(head):
        return _refuse("tekst", "text")
    return _refuse("een onbekend bestandstype", "an unknown kind of file")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # The cut at HEAD_BYTES may split a character: one more try without the last 3 bytes.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return b"\x00" not in head
