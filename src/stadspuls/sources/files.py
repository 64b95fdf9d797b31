"""Import of collected files: Jetstream JSONL, Mastodon statuses, X/Twitter API v2 (twarc2),
4CAT/Zeeschuimer NDJSON, P2000 CSV logs and generic CSV, plain or gzipped (recognised by its
magic bytes, not by its name).

`detect_format` reads the start of a file (whole lines, however long: a twarc2 line is one API
response page of often hundreds of KB); `iter_file` yields its posts and deletions, counting
(and logging with the line number) the records it cannot read instead of stopping: a line of
invalid JSON or invalid UTF-8 is one malformed record, and so is one bad tweet of a page. What
makes the rest of a file unreadable (a truncated or corrupt gzip stream, binary data, an unknown
format) raises a `FileFormatError` that names the file and where it ended, after everything
before that point was yielded. `FileSource` wraps a list of files as a Source for
`stadspuls ingest`, resumable by item index within a file named by its content.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from stadspuls.records import Checkpoint, Deletion, Post, SourceItem, utc
from stadspuls.sources import p2000_csv, tabular
from stadspuls.sources.base import MappingError, SkippedPayload, SourceStats
from stadspuls.sources.fourcat import embedded_posts, map_4cat_item
from stadspuls.sources.jetstream import decode_frame, event_kind, map_event
from stadspuls.sources.mastodon import map_mastodon_status, status_post_id
from stadspuls.sources.textfile import (
    STREAM_ERRORS,
    FileFormatError,
    Utf8Lines,
    csv_rows,
    open_binary,
    read_lines,
    stream_error,
    text_head,
)
from stadspuls.sources.twitter import map_page

__all__ = [
    "FORMATS",
    "FileFormatError",
    "FileSource",
    "classify",
    "detect_format",
    "iter_file",
    "open_binary",
    "stream_name",
]

log = logging.getLogger(__name__)

FORMATS = ("jetstream", "mastodon", "twitter", "4cat", "p2000", "csv")
_SNIFF_LINES = 50  # JSON lines tried for detection: a few bad ones at the start do not decide
_BLANK = b"\xef\xbb\xbf \t\r\n"

Item = Post | Deletion
# What a mapper makes of one record: items, the kind of a well-formed record that is not a post
# (counted as skipped), or the error of one part of it (a tweet of a page) counted as malformed.
Result = Item | str | MappingError


def _document(path: str | os.PathLike[str]) -> Any:
    with open_binary(path) as handle:
        try:
            raw = handle.read()
        except STREAM_ERRORS as error:
            raise stream_error(path, error, "inside one JSON document") from error
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as error:
        raise FileFormatError(
            f"{path}: neither JSON Lines nor one JSON document ({error})"
        ) from error


def _is_jetstream(obj: Mapping[str, Any]) -> bool:
    return "kind" in obj and "time_us" in obj and "did" in obj


def _is_4cat(obj: Mapping[str, Any]) -> bool:
    return "__import_meta" in obj or ("data" in obj and "source_platform" in obj)


def _is_mastodon(obj: Mapping[str, Any]) -> bool:
    # `text` without `content`: the status a DELETE returns (its source, for "delete & redraft")
    return "uri" in obj and "account" in obj and ("content" in obj or "text" in obj)


def _is_twitter(obj: Mapping[str, Any]) -> bool:
    data = obj.get("data")
    if isinstance(data, list | Mapping) and "text" not in obj:
        return classify_tweet(data)
    return classify_tweet(obj)


# Checked in order, the more specific shapes first (a Mastodon status also has `id` and `text`).
DETECTORS: list[tuple[str, Callable[[Mapping[str, Any]], bool]]] = [
    ("jetstream", _is_jetstream),
    ("4cat", _is_4cat),
    ("mastodon", _is_mastodon),
    ("twitter", _is_twitter),
]


def classify(obj: object) -> str | None:
    """The format whose records look like `obj` (one decoded JSON record), if any."""
    if isinstance(obj, list):
        return classify(obj[0]) if obj else None
    if not isinstance(obj, Mapping):
        return None
    return next((kind for kind, looks_like in DETECTORS if looks_like(obj)), None)


def classify_tweet(obj: object) -> bool:
    if isinstance(obj, list):
        return bool(obj) and classify_tweet(obj[0])
    return (
        isinstance(obj, Mapping)
        and "text" in obj
        and "id" in obj
        and ("edit_history_tweet_ids" in obj or "author_id" in obj or "created_at" in obj)
    )


def _json_layout(path: str | os.PathLike[str], start: bytes) -> tuple[bool, str | None]:
    """(whether the file is one JSON document rather than JSON Lines, the format of its
    records). Whole lines are read, however long; a line that does not decode (bad JSON,
    invalid UTF-8) does not decide, the next ones are tried."""
    if start.startswith(b"["):
        return True, classify(_document(path))
    decoded_any = False
    tried = 0
    try:
        for _number, line in read_lines(path):
            if not line.strip(_BLANK):
                continue
            tried += 1
            try:
                record = msgspec.json.decode(line)
            except msgspec.DecodeError:
                record = None
            if not isinstance(record, Mapping):  # a pretty-printed document's lines are not
                if tried >= _SNIFF_LINES:
                    break
                continue
            decoded_any = True
            kind = classify(record)
            if kind is not None or tried >= _SNIFF_LINES:
                return False, kind
    except FileFormatError:
        pass  # a truncated file: decide on the lines read; reading it says where it ended
    if decoded_any:
        return False, None
    return True, classify(_document(path))  # one pretty-printed object


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of FORMATS, from the file's content; FileFormatError when it is none of them."""
    text = text_head(path, FORMATS).lstrip(_BLANK)
    if text.startswith((b"{", b"[")):
        kind = _json_layout(path, text)[1]
        if kind is None:
            raise FileFormatError(
                f"{path}: JSON records of an unknown kind; formats: {', '.join(FORMATS)}"
            )
        return kind
    header = text.split(b"\n", 1)[0].decode("utf-8", "replace")
    try:
        columns = [c.strip() for c in next(csv.reader([header]), [])]
    except csv.Error:
        columns = []
    if p2000_csv.is_p2000_header(columns):
        return "p2000"
    if "text" in columns:
        return "csv"
    raise FileFormatError(
        f"{path}: not JSON and not a CSV file with a 'text' column; formats: {', '.join(FORMATS)}"
    )


def _json_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes | Any]]:
    """(line number, raw line) of JSON Lines; or (1, element) of one whole JSON document."""
    with open_binary(path) as handle:
        try:
            start = handle.read(1024).lstrip(_BLANK)
        except STREAM_ERRORS:
            start = b"{"  # a tiny truncated file: read it line by line, which says where
    is_document = start.startswith(b"[") or (
        start.startswith(b"{") and _json_layout(path, start)[0]
    )
    if is_document:
        document = _document(path)
        for record in document if isinstance(document, list) else [document]:
            yield 1, record
        return
    for number, line in read_lines(path):
        if line.strip(_BLANK):
            yield number, line


def _decoded(record: bytes | Any) -> Any:
    return msgspec.json.decode(record) if isinstance(record, bytes) else record


def _items_jetstream(record: bytes | Any) -> Iterator[Result]:
    raw = record if isinstance(record, bytes) else msgspec.json.encode(record)
    event = decode_frame(raw)
    item = map_event(event)
    yield event_kind(event) if item is None else item


def _items_mastodon(record: bytes | Any) -> Iterator[Result]:
    status = _decoded(record)
    if not isinstance(status, Mapping):
        raise MappingError("a status is not an object")
    if not status.get("content") and isinstance(status.get("text"), str):
        yield deleted_status(status)
    else:
        yield map_mastodon_status(status)


def deleted_status(status: Mapping[str, Any]) -> Deletion:
    """The status a DELETE /api/v1/statuses/:id returned (`text`, its source, instead of
    `content`): only its author can delete it, so it stands for the author's deletion. The
    response does not say when; the status's own time is the earliest it can have been."""
    created = status.get("created_at")
    try:
        at = utc(datetime.fromisoformat(str(created)))
    except ValueError as error:
        raise MappingError(f"field 'created_at' is not an ISO 8601 time: {created!r}") from error
    return Deletion(id=status_post_id(status), at=at)


def _items_twitter(record: bytes | Any) -> Iterator[Result]:
    payload = _decoded(record)
    if not isinstance(payload, Mapping):
        raise MappingError("a line is not an object")
    if (
        "data" not in payload
        and "text" not in payload
        and ("meta" in payload or "errors" in payload)
    ):
        yield "twitter:page without tweets"  # the last page of a search, or only errors
        return
    yield from map_page(payload)


def _items_4cat(record: bytes | Any) -> Iterator[Result]:
    item = _decoded(record)
    if not isinstance(item, Mapping):
        raise MappingError("a line is not an object")
    yield map_4cat_item(item)
    yield from embedded_posts(item)


_JSON_MAPPERS: dict[str, Callable[[bytes | Any], Iterator[Result]]] = {
    "jetstream": _items_jetstream,
    "mastodon": _items_mastodon,
    "twitter": _items_twitter,
    "4cat": _items_4cat,
}
_SOURCE_NAMES = {"jetstream": "bluesky", "mastodon": "mastodon", "twitter": "twitter"}


def iter_file(
    path: str | os.PathLike[str], format: str | None = None, stats: SourceStats | None = None
) -> Iterator[Item]:
    """Posts and deletions of a file, in file order; `stats` (if given) counts what was read."""
    if format is None:
        kind = detect_format(path)
    elif format in FORMATS:
        kind = format
        text_head(path, FORMATS)
    else:
        raise FileFormatError(f"unknown format {format!r}; formats: {', '.join(FORMATS)}")
    stats = stats if stats is not None else SourceStats()
    source = _SOURCE_NAMES.get(kind, kind)
    if kind == "csv":
        yield from _iter_csv(path, stats)
        return
    if kind == "p2000":
        with open_binary(path) as handle:
            try:
                yield from p2000_csv.iter_rows(handle, path, stats)
            except MappingError as error:
                raise FileFormatError(f"{path}: {error}") from error
            except STREAM_ERRORS as error:
                raise stream_error(path, error, "in the P2000 log") from error
        return
    mapper = _JSON_MAPPERS[kind]
    for number, record in _json_records(path):
        stats.received += 1
        try:
            results = list(mapper(record))
        except SkippedPayload as skipped:
            stats.skipped_payload(skipped)
            continue
        except (MappingError, msgspec.DecodeError, msgspec.ValidationError) as error:
            stats.malformed_line(source, path, number, error)
            continue
        for result in results:
            if isinstance(result, MappingError):
                stats.malformed_line(source, path, number, result)
            elif isinstance(result, str):
                stats.skip(result)
            else:
                if isinstance(result, Post):
                    stats.posts += 1
                else:
                    stats.deletions += 1
                yield result


def _iter_csv(path: str | os.PathLike[str], stats: SourceStats) -> Iterator[Item]:
    text = Utf8Lines(read_lines(path), stats)
    reader = csv.DictReader(iter(text))
    try:
        tabular.check_header(list(reader.fieldnames or []))
    except (MappingError, csv.Error) as error:
        raise FileFormatError(f"{path}: {error}") from error
    try:
        for line, row in csv_rows(reader, path, stats, tabular.SOURCE):
            try:
                post = tabular.map_csv_row(row)
            except MappingError as error:
                stats.malformed_line(tabular.SOURCE, path, line, error)
                continue
            stats.posts += 1
            yield post
    finally:
        if text.bad:
            log.warning(
                "%s: %d line(s) held bytes that are not UTF-8 (the first at line %d);"
                " they were read with U+FFFD in their place",
                path,
                text.bad,
                text.first_bad,
            )


def stream_name(path: str | os.PathLike[str], prefix: str = "file") -> str:
    """The resume stream of a file: named by its content (SHA-256 of its bytes as stored), so a
    name reused for new content starts from the beginning and the same file resumes."""
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return f"{prefix}:sha256:{digest}"


class FileSource:
    """The posts of files as a finite Source; each file is one stream, resumed by item index."""

    name = "files"

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        format: str | None = None,
        *,
        checkpoint_every: int = 1000,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        for path in self.paths:
            if format is None:
                detect_format(path)  # fail before the first post, not half-way
        self.format = format
        self.checkpoint_every = checkpoint_every
        self.stats = SourceStats()

    async def stream(self, cursors: Mapping[str, str]) -> AsyncIterator[SourceItem]:
        for path in self.paths:
            name = stream_name(path)
            done = int(cursors.get(name, "0"))
            index = 0
            for index, item in enumerate(iter_file(path, self.format, self.stats), start=1):
                if index <= done:
                    continue
                yield item
                if index % self.checkpoint_every == 0:
                    yield Checkpoint(name, str(index))
            if index > done:
                yield Checkpoint(name, str(index))
