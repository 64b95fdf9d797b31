"""Opening a database: engine creation, SQLite pragmas, the directory for a new SQLite file.

Writing commands open the database read-write and bring its schema to the newest revision;
reading commands (`search`, `monitor list`, …) open it read-only, without migrating or changing
the journal mode, so they also work on a file or folder they may not write to. What goes wrong
is raised as `StoreError`, whose message is one line for the user.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL is durable across a process kill in WAL mode; only an OS crash can lose the
    # last transactions, and the cursors are in the same transactions, so they resume there.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
)
# Setting the journal mode writes to the file; a read-only connection takes the file as it is.
_READ_ONLY_PRAGMAS = tuple(p for p in SQLITE_PRAGMAS if "journal_mode" not in p)
# The page cache of each SQLite connection, in MiB (Settings.sqlite_cache_mib). Every
# connection has its own, and `stadspuls run` holds up to 15 (the pool's 5 and its overflow:
# consumers, web requests, outboxes): at 64 MiB each, up to 900 MiB; the main process held
# 1,623 MiB at 77 % of a busy day with them and 1,187 MiB at 81 % with 8 MiB (bench/memory.py).
# Pages missed here come from the operating system's file cache, which all connections and
# processes share; the writer is as fast with 8 MiB as with 64 (bench/writer_cache.py).
SQLITE_CACHE_MIB = 8

READ_ONLY_COMMANDS = (
    "search --count, monitor list, monitor show --last 0, alerts list, alerts show,"
    " retention log and sources list; showing post texts writes an audit row"
)


class StoreError(RuntimeError):
    """The database cannot be used as asked; the message says why in one line."""


class NoStore(StoreError):
    """There is no database to read yet."""


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` for psycopg 3, and a bare path for SQLite."""
    if "://" not in url:
        return f"sqlite:///{url}"
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


def cache_pragma(mib: int) -> str:
    """The pragma that bounds a connection's page cache to `mib` MiB."""
    if mib < 1:
        raise ValueError(f"an SQLite page cache needs at least 1 MiB, not {mib}")
    return f"PRAGMA cache_size=-{mib * 1024}"  # negative: KiB rather than pages


def _with_pragmas(
    engine: sa.Engine, pragmas: tuple[str, ...], cache_mib: int = SQLITE_CACHE_MIB
) -> sa.Engine:
    pragmas = (*pragmas, cache_pragma(cache_mib))

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    return engine


def _sqlite_read_only(
    database: str, *, immutable: bool, cache_mib: int = SQLITE_CACHE_MIB
) -> sa.Engine:
    # `mode=ro` still reads the WAL through the -shm file; where that cannot be created (a
    # read-only folder and no writer running) `immutable=1` reads the file as it is.
    flag = {"immutable": "1"} if immutable else {"mode": "ro"}
    url = sa.engine.URL.create(
        "sqlite",
        database=f"file:{quote(str(Path(database).resolve()))}",
        query={**flag, "uri": "true"},
    )
    engine = sa.create_engine(url, connect_args={"timeout": 30})
    return _with_pragmas(engine, _READ_ONLY_PRAGMAS, cache_mib)


def create_engine(
    url: str, *, read_only: bool = False, cache_mib: int = SQLITE_CACHE_MIB
) -> sa.Engine:
    """An engine for `url`; on SQLite each connection keeps at most `cache_mib` MiB of pages."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if read_only and database and database != ":memory:":
            if not Path(database).is_file():
                raise NoStore(f"no database at {database} yet")
            engine = _sqlite_read_only(database, immutable=False, cache_mib=cache_mib)
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
            except sa.exc.DBAPIError:
                # What still fails now is reported by open_store, with the file's name.
                engine.dispose()
                engine = _sqlite_read_only(database, immutable=True, cache_mib=cache_mib)
            return engine
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        return _with_pragmas(engine, SQLITE_PRAGMAS, cache_mib)
    if parsed.get_backend_name() == "postgresql":
        if read_only:
            return sa.create_engine(
                url,
                pool_pre_ping=True,
                connect_args={"options": "-c default_transaction_read_only=on"},
            )
        return sa.create_engine(url, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")


def _shown(engine: sa.Engine) -> str:
    if engine.dialect.name == "sqlite":
        return str(engine.url.database or "").removeprefix("file:")
    return engine.url.render_as_string(hide_password=True)


def _is_read_only(error: sa.exc.DBAPIError) -> bool:
    text = str(error.orig).lower()
    return "readonly" in text or "read-only" in text


def open_store(
    url: str,
    *,
    migrate: bool = True,
    read_only: bool = False,
    cache_mib: int = SQLITE_CACHE_MIB,
) -> sa.Engine:
    """Open the database at `url`.

    Read-write (the default): bring its schema to the newest revision unless told not to, and
    make sure it can be written. Read-only: never write; the schema must be the newest already.
    `cache_mib`: the page cache of each SQLite connection (`Settings.sqlite_cache_mib`).
    """
    from stadspuls.store import migrate as migrations

    engine = create_engine(url, read_only=read_only, cache_mib=cache_mib)
    head = migrations.head_revision()
    try:
        current = migrations.current_revision(engine)
        if read_only:
            if current is None:
                raise NoStore(
                    f"{_shown(engine)} holds no Stadspuls database yet; create it with"
                    " `stadspuls db upgrade` or by collecting (stadspuls run, stadspuls ingest)"
                )
            if current != head:
                raise StoreError(
                    f"{_shown(engine)} has schema revision {current}, this version needs {head}:"
                    " run `stadspuls db upgrade` with write access first"
                )
            return engine
        if migrate and current != head:
            migrations.upgrade(engine)
        if migrate and engine.dialect.name == "sqlite":
            # A read-only file opens without complaint and fails at the first write; find out
            # now, before anything is read or started. (No row matches: nothing is written.)
            with engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM cursors WHERE 0")
    except sa.exc.DBAPIError as error:
        engine.dispose()
        if not read_only and _is_read_only(error):
            raise StoreError(
                f"database {_shown(engine)} is read-only for this user ({error.orig}): writing"
                " needs write access to the file and its folder; reading works read-only"
                f" ({READ_ONLY_COMMANDS})"
            ) from error
        raise StoreError(f"cannot open database {_shown(engine)}: {error.orig}") from error
    except StoreError:
        engine.dispose()
        raise
    return engine


@contextmanager
def connected(bind: sa.Engine | sa.Connection) -> Iterator[sa.Connection]:
    """A connection of `bind`: a new one for an engine (closed after), or the caller's own
    (left open), so that a read can share the transaction of the audit row that records it."""
    if isinstance(bind, sa.Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn
