"""A file's bytes as lines, robustly: gzip recognised by its magic bytes (not by its name),
binary data refused, a truncated or corrupt compressed stream reported with the place where it
ended (as a `FileFormatError`, after every whole line before it), and text decoded as UTF-8 line
by line, so that one bad byte costs one line, not the file.
"""

from __future__ import annotations

import csv
import gzip
import os
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, cast

from stadspuls.sources.base import MappingError, SourceStats

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 1 << 16


class FileFormatError(ValueError):
    """The file cannot be read (further): unknown format, binary data, truncated or corrupt."""


def open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """The file's (decompressed) bytes: gzip is recognised by its magic bytes."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    if compressed:
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def stream_error(path: object, error: Exception, where: str) -> FileFormatError:
    if isinstance(error, EOFError):
        reason = "the compressed data ends early (truncated gzip)"
    else:
        reason = f"the compressed data is corrupt ({error})"
    return FileFormatError(f"{path}: {reason} {where}; everything before it was read")


def read_head(path: str | os.PathLike[str]) -> bytes:
    """Up to HEAD_BYTES from the start; of a truncated gzip, what could be decompressed."""
    chunks: list[bytes] = []
    size = 0
    with open_binary(path) as handle:
        try:
            while size < HEAD_BYTES:
                chunk = handle.read(min(8192, HEAD_BYTES - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except STREAM_ERRORS:
            if not chunks:
                raise
    return b"".join(chunks)


def read_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of a file; FileFormatError (after the last whole line) when a
    compressed stream ends early or is corrupt."""
    number = offset = 0
    with open_binary(path) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                yield number, line
                offset += len(line)
        except STREAM_ERRORS as error:
            where = f"after line {number} (byte {offset:,} of the decompressed data)"
            raise stream_error(path, error, where) from error


def text_head(path: str | os.PathLike[str], formats: Iterable[str] = ()) -> bytes:
    """The start of a file that holds text; FileFormatError for binary data (text exports,
    UTF-8 as all of these formats are, never hold a NUL byte)."""
    try:
        head = read_head(path)
    except STREAM_ERRORS as error:
        raise stream_error(path, error, "at its start") from error
    # An OSError (no such file, no permission) goes up as it is: callers report its strerror.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text", for one
        raise FileFormatError(f"{path}: UTF-16 text; save or export it as UTF-8")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise FileFormatError(
            f"{path}: binary data, not a text export (a NUL byte at byte {nul})"
            + (f"; formats: {', '.join(formats)}" if formats else "")
        )
    return head


class Utf8Lines:
    """The lines of a file as text for the csv module, each decoded on its own: a line with
    bytes that are not UTF-8 is read with U+FFFD in their place, and counted."""

    def __init__(self, lines: Iterable[tuple[int, bytes]], stats: SourceStats) -> None:
        self.lines = iter(lines)
        self.stats = stats
        self.first_bad: int | None = None
        self.bad = 0

    def __iter__(self) -> Iterator[str]:
        for number, raw in self.lines:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("utf-8", "replace")
                self.bad += 1
                self.stats.invalid_utf8 += 1
                if self.first_bad is None:
                    self.first_bad = number
            yield line.removeprefix("\ufeff") if number == 1 else line


def csv_rows(
    reader: csv.DictReader[str], path: object, stats: SourceStats, source: str
) -> Iterator[tuple[int, Mapping[str, str | None]]]:
    """(line number, row) of each row of `reader` that the csv module can read and that has no
    more fields than columns; the others are counted and logged as malformed. A row the csv
    module refuses (an unclosed quote that swallows the lines after it until the field limit)
    costs that row: the reader has consumed its lines and goes on after them. (Its `line_num`
    does not count the lines of a refused row, so the line logged is the one before it.)"""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            stats.received += 1
            stats.malformed_line(source, path, reader.line_num, error)
            continue
        stats.received += 1
        if None in row:
            extra = f"{len(row[None])} more fields than columns"
            stats.malformed_line(source, path, reader.line_num, MappingError(extra))
            continue
        yield reader.line_num, row
