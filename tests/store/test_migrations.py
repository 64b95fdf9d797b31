from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from stadspuls.store import migrate
from stadspuls.store.database import create_engine
from stadspuls.store.schema import metadata


def test_migrations_build_exactly_the_schema_and_go_down_again(db_url: str) -> None:
    engine = create_engine(db_url)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # The full-text index is dialect-specific and deliberately not in the shared schema.
    diff = [d for d in diff if "posts_fts" not in repr(d) and "tsv" not in repr(d)]
    assert diff == []
    migrate.downgrade(engine, "base")
    assert "posts" not in sa.inspect(engine).get_table_names()
    engine.dispose()
