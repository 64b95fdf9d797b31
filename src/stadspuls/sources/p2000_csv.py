"""P2000 logs as CSV (`created_at,service,priority,text`, the shape public P2000 collections
publish): one row, one pager message, mapped like a live P2000 item (`p2000.parse_p2000`).

Times are the dispatch system's wall-clock times in Europe/Amsterdam, converted to UTC. When the
clocks go back (last Sunday of October) 02:00–02:59 happens twice: a log is in time order, so an
ambiguous time takes the reading closest to the previous row's time (the first pass of the hour
after a time before it, the second pass after a time in the second pass). A time in the hour
that does not exist (last Sunday of March) is read with the offset before the change, as
zoneinfo's `fold=0` does: the clock of a device not yet switched. A time with an explicit offset
is taken as it is.

A row has no id of its own: the time as written, the service, the priority and the full message
(capcodes included) are hashed into one, so that messages of the same time and text sent to other
services or units stay apart, and a re-import or an overlapping file gives the same ids. Identical
rows within one second are numbered: a log that repeats a message has sent it twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO
from zoneinfo import ZoneInfo

from stadspuls.records import Post
from stadspuls.sources.base import MappingError, SourceStats
from stadspuls.sources.encoding import detect
from stadspuls.sources.p2000 import LANGUAGE, SOURCE, parse_p2000, service_name
from stadspuls.sources.textfile import csv_rows

COLUMNS = ("created_at", "service", "priority", "text")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_SNIFF_BYTES = 1 << 16


def is_p2000_header(columns: list[str]) -> bool:
    return set(COLUMNS) <= {column.strip().lower() for column in columns}


def local_to_utc(wall: datetime, previous: datetime | None = None) -> datetime:
    """A naive Europe/Amsterdam wall-clock time in UTC (see the module's note on DST)."""
    readings = [wall.replace(tzinfo=AMSTERDAM, fold=fold).astimezone(UTC) for fold in (0, 1)]
    real = [r for r in readings if r.astimezone(AMSTERDAM).replace(tzinfo=None) == wall]
    if not real:  # in the hour skipped in spring
        return readings[0]
    if previous is None or real[0] == real[-1]:
        return real[0]
    return min(real, key=lambda reading: abs(reading - previous))


class RowMapper:
    """Maps the rows of one file in order; it remembers the previous time and repeated rows."""

    def __init__(self) -> None:
        self.previous: datetime | None = None
        self._second = ""
        self._repeats: dict[str, int] = {}

    def __call__(self, row: Mapping[str, str | None]) -> Post:
        if not isinstance(row, Mapping):
            raise MappingError("expected a CSV row")
        raw_text = row.get("text")
        if not isinstance(raw_text, str) or not raw_text.strip():
            raise MappingError("missing required field 'text'")
        raw_time = (row.get("created_at") or "").strip()
        if not raw_time:
            raise MappingError("missing required field 'created_at'")
        try:
            written = datetime.fromisoformat(raw_time)
            if written.tzinfo is None:
                created_at = local_to_utc(written, self.previous)
            else:
                created_at = written.astimezone(UTC)
        except (ValueError, OverflowError) as error:  # overflow: year 1 less an hour
            raise MappingError(f"field 'created_at' is not a time: {raw_time!r}") from error
        message = parse_p2000(raw_text)
        raw_service = (row.get("service") or "").strip()
        raw_priority = (row.get("priority") or "").strip()
        meta = message.meta()
        service = service_name(raw_service) or raw_service.lower() or message.service
        if service:
            meta["service"] = service
        if raw_priority:
            meta["priority"] = "".join(raw_priority.split()).upper()
        self.previous = created_at
        native = self._native_id(raw_time, raw_service, raw_priority, raw_text)
        return Post(
            id=f"{SOURCE}:{native}",
            source=SOURCE,
            native_id=native,
            created_at=created_at,
            text=message.text,
            lang_declared=LANGUAGE,
            places=message.places(),
            meta=meta,
        )

    def _native_id(self, *parts: str) -> str:
        if parts[0] != self._second:
            self._second, self._repeats = parts[0], {}
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
        seen = self._repeats[digest] = self._repeats.get(digest, 0) + 1
        return f"sha256:{digest}" if seen == 1 else f"sha256:{digest}:{seen}"


def _text_encoding(handle: IO[bytes]) -> str:
    """UTF-8 (with or without BOM), unless the file's start says otherwise (older logs were
    written in Windows-1252: its "é" read as UTF-8 would be lost to U+FFFD)."""
    sample = handle.read(_SNIFF_BYTES)
    handle.seek(0)
    if len(sample) == _SNIFF_BYTES:
        sample = sample[: sample.rfind(b"\n") + 1] or sample  # no character cut in two
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return detect(sample)
    return "utf-8-sig"


def iter_rows(handle: IO[bytes], path: object, stats: SourceStats) -> Iterator[Post]:
    """The posts of a P2000 CSV file; a malformed row is counted and logged with its line."""
    # The wrapper closes the file it wraps, which the caller's `with` owns: detach it instead.
    encoding = _text_encoding(handle)
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    try:
        reader = csv.DictReader(text)
        columns = list(reader.fieldnames or [])
        if not is_p2000_header(columns):
            raise MappingError(f"a P2000 CSV file has the columns {', '.join(COLUMNS)}")
        reader.fieldnames = [column.strip().lower() for column in columns]
        mapper = RowMapper()
        # A bad row (e.g. an unclosed quote that swallows the lines after it) costs that row.
        for line, row in csv_rows(reader, path, stats, SOURCE):
            try:
                post = mapper(row)
            except MappingError as error:
                stats.malformed_line(SOURCE, path, line, error)
                continue
            stats.posts += 1
            yield post
    finally:
        text.detach()
