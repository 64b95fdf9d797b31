"""Each SQLite connection's page cache is bounded by `sqlite_cache_mib`, on every way a
connection is opened: `stadspuls run` holds up to 15 connections, each with its own cache."""

from __future__ import annotations

import ctypes
import ctypes.util
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from stadspuls.cli.common import engine_for, reader_for
from stadspuls.settings import Settings
from stadspuls.store.database import SQLITE_CACHE_MIB, cache_pragma, open_store

MIB = 1024 * 1024


def _sqlite_memory_used() -> Callable[[], int]:
    """`sqlite3_memory_used()` of the SQLite library Python's sqlite3 module runs on, or skip
    where that library is not a shared one this process can reach (a static build)."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        pytest.skip("no shared libsqlite3 to ask how much memory SQLite holds")
    library = ctypes.CDLL(name)
    library.sqlite3_memory_used.restype = ctypes.c_int64

    def function() -> int:
        return int(library.sqlite3_memory_used())

    before = function()
    probe = sqlite3.connect(":memory:")
    probe.execute("CREATE TABLE t (x)")
    probe.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 2000)
    grew = function() > before
    probe.close()
    if not grew:
        pytest.skip("Python's sqlite3 does not use the shared libsqlite3 (a static build)")
    return function


def _filled(path: Path, mib: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany(
            "INSERT INTO filler (body) VALUES (?)",
            [(f"{i:08d}" + "x" * 992,) for i in range(mib * 1024)],
        )


def _cache_growth(engine: sa.Engine, memory_used: Callable[[], int]) -> float:
    """MiB that SQLite holds more after one connection has read the whole table twice."""
    before = memory_used()
    with engine.connect() as conn:
        for _ in range(2):
            conn.exec_driver_sql("SELECT sum(length(body)) FROM filler").scalar()
        held = memory_used()
    return float(held - before) / MIB


def test_a_connection_keeps_no_more_pages_than_its_cache(tmp_path: Path) -> None:
    memory_used = _sqlite_memory_used()
    database = tmp_path / "big.db"
    _filled(database, 24)
    small = open_store(f"sqlite:///{database}", migrate=False, cache_mib=2)
    large = open_store(f"sqlite:///{database}", migrate=False, cache_mib=64)
    try:
        # 24 MiB of rows read through each: the small cache keeps 2 MiB of them, the large all.
        assert _cache_growth(small, memory_used) < 2 + 1.5
        assert _cache_growth(large, memory_used) > 20
    finally:
        small.dispose()
        large.dispose()


def _cache_mib(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        value = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    assert value is not None
    assert value < 0  # in KiB, not in pages
    return -int(value) / 1024


def test_every_engine_of_the_settings_has_their_cache(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'stadspuls.db'}", sqlite_cache_mib=3)
    writer = engine_for(settings)
    reader = reader_for(settings)
    assert reader is not None
    try:
        assert _cache_mib(writer) == 3
        assert _cache_mib(reader) == 3  # read-only: the same bound
    finally:
        writer.dispose()
        reader.dispose()


def test_the_default_is_the_settings_default() -> None:
    assert Settings.model_fields["sqlite_cache_mib"].default == SQLITE_CACHE_MIB


def test_a_cache_under_one_mib_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 MiB"):
        cache_pragma(0)
    with pytest.raises(ValueError, match="sqlite_cache_mib"):
        Settings(sqlite_cache_mib=0)
