"""Throw-away PostgreSQL databases on the server `scripts/test-services.sh` starts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from stadspuls.store.database import create_engine

PG_URL_ENV = "STADSPULS_TEST_PG_URL"


def fresh_pg_database() -> Iterator[str]:
    """Yield the URL of a new, empty database and drop it afterwards; skip without a server."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL not started: set {PG_URL_ENV} (make test does)")
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
