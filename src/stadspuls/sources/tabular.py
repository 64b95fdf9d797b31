"""Rows of a generic CSV file → Post: `text` and `created_at` required; `id`, `author`, `url`,
`lang`, `lat`, `lon` optional. Without an `id` the row's content is hashed into a stable one."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from stadspuls.records import Post
from stadspuls.sources.base import MappingError, declared_lang, native_id
from stadspuls.sources.fourcat import parse_time

SOURCE = "csv"
REQUIRED_COLUMNS = ("text", "created_at")
OPTIONAL_COLUMNS = ("id", "author", "url", "lang", "lat", "lon")


def check_header(columns: list[str] | None) -> None:
    present = set(columns or ())
    for column in REQUIRED_COLUMNS:
        if column not in present:
            raise MappingError(
                f"CSV file lacks the required column {column!r} (columns: {sorted(present)})"
            )


def _optional(row: Mapping[str, str | None], column: str) -> str | None:
    value = row.get(column)
    return value.strip() or None if isinstance(value, str) else None


def _coordinate(row: Mapping[str, str | None], column: str) -> float | None:
    value = _optional(row, column)
    if value is None:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError as error:
        raise MappingError(f"column {column!r} is not a number: {value!r}") from error


def map_csv_row(row: Mapping[str, str | None]) -> Post:
    if not isinstance(row, Mapping):
        raise MappingError("expected a CSV row")
    text = row.get("text")
    if not isinstance(text, str):
        raise MappingError("missing required field 'text'")
    raw_time = _optional(row, "created_at")
    if raw_time is None:
        raise MappingError("missing required field 'created_at'")
    created_at = parse_time(raw_time)
    if created_at is None:
        raise MappingError(f"field 'created_at' is not a time: {raw_time!r}")
    author = _optional(row, "author")
    row_id = _optional(row, "id")
    if row_id is None:
        content = f"{created_at.isoformat()}\n{author or ''}\n{text}"
        row_id = "sha256:" + hashlib.sha256(content.encode()).hexdigest()[:32]
    native = native_id(row_id)
    return Post(
        id=f"{SOURCE}:{native}",
        source=SOURCE,
        native_id=native,
        created_at=created_at,
        text=text,
        author=author,
        url=_optional(row, "url"),
        lang_declared=declared_lang(_optional(row, "lang")),
        lat=_coordinate(row, "lat"),
        lon=_coordinate(row, "lon"),
    )
