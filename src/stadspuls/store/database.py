"""Opening a database: engine creation, SQLite pragmas, the directory for a new SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL is durable across a process kill in WAL mode; only an OS crash can lose the
    # last transactions, and the cursors are in the same transactions, so they resume there.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
)


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` for psycopg 3, and a bare path for SQLite."""
    if "://" not in url:
        return f"sqlite:///{url}"
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return url


def create_engine(url: str) -> sa.Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")


def open_store(url: str, *, migrate: bool = True) -> sa.Engine:
    """Open the database at `url`, bringing its schema to the newest revision unless told not to."""
    from stadspuls.store import migrate as migrations

    engine = create_engine(url)
    if migrate and migrations.current_revision(engine) != migrations.head_revision():
        migrations.upgrade(engine)
    return engine
