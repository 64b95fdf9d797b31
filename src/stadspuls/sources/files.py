"""Import of collected files: Jetstream JSONL, Mastodon statuses, X/Twitter API v2, 4CAT NDJSON
and generic CSV, plain or gzipped (recognised by its magic bytes, not by its name).

`detect_format` reads the start of a file; `iter_file` yields its posts and deletions, counting
(and logging with the line number) the lines it cannot read instead of stopping. `FileSource`
wraps a list of files as a Source for `stadspuls ingest`, resumable by item index.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast

import msgspec

from stadspuls.records import Checkpoint, Deletion, Post, SourceItem
from stadspuls.sources import tabular
from stadspuls.sources.base import MappingError, SkippedPayload, SourceStats
from stadspuls.sources.fourcat import map_4cat_item
from stadspuls.sources.jetstream import decode_frame, map_event
from stadspuls.sources.mastodon import map_mastodon_status
from stadspuls.sources.twitter import iter_response, map_tweet

log = logging.getLogger(__name__)

FORMATS = ("jetstream", "mastodon", "twitter", "4cat", "csv")
GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 1 << 16

Item = Post | Deletion


class FileFormatError(ValueError):
    """The file's format is unknown, or it lacks what its format requires."""


def open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """The file's (decompressed) bytes: gzip is recognised by its magic bytes."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    if compressed:
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def classify(obj: object) -> str | None:
    """The format whose records look like `obj` (one decoded JSON record), if any."""
    if isinstance(obj, list):
        return classify(obj[0]) if obj else None
    if not isinstance(obj, Mapping):
        return None
    if "kind" in obj and "time_us" in obj and "did" in obj:
        return "jetstream"
    if "__import_meta" in obj or ("data" in obj and "source_platform" in obj):
        return "4cat"
    if "uri" in obj and "account" in obj and "content" in obj:
        return "mastodon"
    data = obj.get("data")
    if isinstance(data, list | Mapping) and "text" not in obj:
        return "twitter" if classify_tweet(data) else None
    return "twitter" if classify_tweet(obj) else None


def classify_tweet(obj: object) -> bool:
    if isinstance(obj, list):
        return bool(obj) and classify_tweet(obj[0])
    return (
        isinstance(obj, Mapping)
        and "text" in obj
        and "id" in obj
        and ("edit_history_tweet_ids" in obj or "author_id" in obj or "created_at" in obj)
    )


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of FORMATS, from the file's content; FileFormatError when it is none of them."""
    with open_binary(path) as handle:
        head = handle.read(_SNIFF_BYTES)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        first_line = text.split(b"\n", 1)[0]
        kind: str | None = None
        try:
            kind = classify(msgspec.json.decode(first_line))
        except msgspec.DecodeError:
            try:  # one pretty-printed JSON document (an array or an API response)
                with open_binary(path) as handle:
                    kind = classify(msgspec.json.decode(handle.read()))
            except msgspec.DecodeError:
                kind = None
        if kind is None:
            raise FileFormatError(f"{path}: JSON records of an unknown kind")
        return kind
    header = text.split(b"\n", 1)[0].decode("utf-8", "replace")
    columns = [c.strip() for c in next(csv.reader([header]), [])]
    if "text" in columns:
        return "csv"
    raise FileFormatError(
        f"{path}: not JSON and not a CSV file with a 'text' column; formats: {', '.join(FORMATS)}"
    )


def _bad(stats: SourceStats, source: str, path: object, line: int, error: Exception) -> None:
    stats.malformed_payload(source, MappingError(f"{path}:{line}: {error}"), None)


def _is_document(path: str | os.PathLike[str]) -> bool:
    """Whether a JSON file is one document (an array, a pretty-printed object), not JSON Lines."""
    with open_binary(path) as handle:
        start = handle.read(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"["):
        return True
    try:
        msgspec.json.decode(start.split(b"\n", 1)[0])
    except msgspec.DecodeError:
        return start.startswith(b"{")
    return False


def _json_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes | Any]]:
    """(line number, raw line) of JSON Lines; or (1, element) of one whole JSON document."""
    if _is_document(path):
        with open_binary(path) as handle:
            document = msgspec.json.decode(handle.read())
        for record in document if isinstance(document, list) else [document]:
            yield 1, record
        return
    with open_binary(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _decoded(record: bytes | Any) -> Any:
    return msgspec.json.decode(record) if isinstance(record, bytes) else record


def _items_jetstream(record: bytes | Any) -> Iterator[Item | None]:
    raw = record if isinstance(record, bytes) else msgspec.json.encode(record)
    yield map_event(decode_frame(raw))


def _items_mastodon(record: bytes | Any) -> Iterator[Item | None]:
    status = _decoded(record)
    if not isinstance(status, Mapping):
        raise MappingError("a status is not an object")
    yield map_mastodon_status(status)


def _items_twitter(record: bytes | Any) -> Iterator[Item | None]:
    payload = _decoded(record)
    if not isinstance(payload, Mapping):
        raise MappingError("a line is not an object")
    for tweet, includes in iter_response(payload):
        yield map_tweet(tweet, includes)


def _items_4cat(record: bytes | Any) -> Iterator[Item | None]:
    item = _decoded(record)
    if not isinstance(item, Mapping):
        raise MappingError("a line is not an object")
    yield map_4cat_item(item)


_JSON_MAPPERS: dict[str, Callable[[bytes | Any], Iterator[Item | None]]] = {
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
    kind = format or detect_format(path)
    if kind not in FORMATS:
        raise FileFormatError(f"unknown format {kind!r}; formats: {', '.join(FORMATS)}")
    stats = stats if stats is not None else SourceStats()
    source = _SOURCE_NAMES.get(kind, kind)
    if kind == "csv":
        with open_binary(path) as handle:
            yield from _iter_csv(handle, path, stats)
        return
    mapper = _JSON_MAPPERS[kind]
    for number, record in _json_records(path):
        stats.received += 1
        try:
            items = list(mapper(record))
        except SkippedPayload as skipped:
            stats.skipped_payload(skipped)
            continue
        except (MappingError, msgspec.DecodeError, msgspec.ValidationError) as error:
            _bad(stats, source, path, number, error)
            continue
        for item in items:
            if item is None:
                stats.skipped += 1
                continue
            if isinstance(item, Post):
                stats.posts += 1
            else:
                stats.deletions += 1
            yield item


def _iter_csv(handle: IO[bytes], path: object, stats: SourceStats) -> Iterator[Item]:
    # The wrapper closes the file it wraps, which the caller's `with` owns: detach it instead.
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")
    try:
        reader = csv.DictReader(text)
        try:
            tabular.check_header(list(reader.fieldnames or []))
        except MappingError as error:
            raise FileFormatError(f"{path}: {error}") from error
        for row in reader:
            stats.received += 1
            try:
                if None in row:
                    raise MappingError(f"{len(row[None])} more fields than columns")
                post = tabular.map_csv_row(row)
            except MappingError as error:
                _bad(stats, tabular.SOURCE, path, reader.line_num, error)
                continue
            stats.posts += 1
            yield post
    finally:
        text.detach()


def stream_name(path: str | os.PathLike[str], prefix: str = "file") -> str:
    return f"{prefix}:{Path(path).resolve()}"


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
