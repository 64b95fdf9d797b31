"""Leases: which replica of `stadspuls worker consumers` runs a consumer or a job right now.

On PostgreSQL a lease is a session-level advisory lock keyed by the consumer's name, taken with
`pg_try_advisory_lock` on a connection of its own. The lock lives exactly as long as that
session: when the process dies, the server ends the session and the lock is free at once; when
the connection is lost (the server restarted, the network broke), the holder finds out at its
next check (every second or so) and stops that consumer, while a replica that can still reach
the server takes the lock. Correctness never rests on the lock alone: a consumer's output and
its cursor commit in one transaction that fails when the cursor moved (`store.consumers.advance`),
so even two replicas that both believe they hold it for a moment write nothing twice. The lock
only keeps the standby from doing the work twice.

On SQLite (one machine by nature) a lease is an exclusive `flock` on a file beside the database:
the kernel frees it when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# libpq's TCP keepalives and user timeout: a holder whose server went silent learns within about
# ten seconds that its connection (and so its lock) is gone, instead of the kernel's two hours.
_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
    "connect_timeout": 5,
}


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key of a lease name: stable across processes, releases and
    machines (Python's `hash` is salted per process, so it cannot be used)."""
    digest = hashlib.blake2b(f"stadspuls.lease:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Lease(Protocol):
    name: str
    # Why the last try or check could not reach the lock's store (None: it could).
    error: str | None

    def acquire(self) -> bool:
        """Try to take the lease without waiting; True when this process holds it now."""
        ...

    def check(self) -> bool:
        """Whether this process still holds the lease (False once it is lost)."""
        ...

    def release(self) -> None: ...


class PgLease:
    """A session-level advisory lock on a connection of its own (autocommit: the connection is
    never left idle inside a transaction)."""

    def __init__(self, engine: sa.Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self.held = False
        self.error: str | None = None
        self._conn: sa.Connection | None = None

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def acquire(self) -> bool:
        if self.held:
            return self.check()
        try:
            taken = self._connection().execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            self.held = bool(taken.scalar_one())
            self.error = None
        except sa.exc.DBAPIError as error:
            log.warning("lease %s: cannot reach the database: %s", self.name, error.orig)
            self.error = f"cannot reach the database: {error.orig}"
            self._drop()
        return self.held

    def check(self) -> bool:
        if not self.held:
            return False
        # Held means: this very session holds the lock now (pg_locks splits the 64-bit key into
        # classid, the high half, and objid, the low half; objsubid 1 marks a bigint key).
        query = sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND objsubid = 1"
            " AND classid = :high AND objid = :low"
        )
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        params = {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}
        try:
            self.held = self._connection().execute(query, params).scalar_one() == 1
            self.error = None
        except sa.exc.DBAPIError as error:
            log.warning("lease %s: lost with the connection: %s", self.name, error.orig)
            self.error = f"lost with the connection: {error.orig}"
            self._drop()
        return self.held

    def release(self) -> None:
        if self.held and self._conn is not None:
            # An error means the session is gone, and the lock with it.
            with contextlib.suppress(sa.exc.DBAPIError):
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._drop()

    def _drop(self) -> None:
        self.held = False
        if self._conn is not None:
            conn, self._conn = self._conn, None
            # The session may be dead already: the connection is discarded either way.
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.invalidate()
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.close()


class FileLease:
    """An exclusive `flock` on `path`; the kernel releases it when the process ends."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.error: str | None = None  # a flock needs nothing that can be unreachable
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def check(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor releases the flock


class Leases:
    """Makes the leases of one process: advisory locks on PostgreSQL (one connection each, from
    an engine without a pool, so a lost connection is never handed out again), flocks beside
    the database file on SQLite."""

    def __init__(self, engine: sa.Engine) -> None:
        self.dialect = engine.dialect.name
        self._pg: sa.Engine | None = None
        self._dir: Path | None = None
        if self.dialect == "postgresql":
            self._pg = sa.create_engine(
                engine.url, poolclass=NullPool, connect_args=_KEEPALIVE
            ).execution_options(isolation_level="AUTOCOMMIT")
        elif self.dialect == "sqlite":
            database = engine.url.database or ""
            if not database or database == ":memory:":
                raise ValueError("consumers in their own process need a database file")
            self._dir = Path(f"{database}.leases")
            self._dir.mkdir(parents=True, exist_ok=True)
        else:
            raise ValueError(f"no leases on {self.dialect}")

    def lease(self, name: str) -> Lease:
        if self._pg is not None:
            return PgLease(self._pg, name)
        assert self._dir is not None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return FileLease(self._dir / f"{safe}.lock", name)

    def dispose(self) -> None:
        if self._pg is not None:
            self._pg.dispose()
