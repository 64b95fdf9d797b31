from __future__ import annotations

import msgspec
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from stadspuls.store import migrate
from stadspuls.store.database import create_engine
from stadspuls.store.posts import posts_by_ids
from stadspuls.store.schema import metadata
from stadspuls.store.scores import update_scores


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


def test_0009_adds_the_accurate_stage_columns_to_stored_posts(sqlite_url: str) -> None:
    """Posts stored before 0009 read back with no labels and no stage; down again, they stay."""
    engine = create_engine(sqlite_url)
    migrate.upgrade(engine, "0008")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO posts (id, source, native_id, created_us, collected_us, text,"
            " incident_type) VALUES ('test:1', 'test', '1', 0, 0, 'brand', 'fire')"
        )
    migrate.upgrade(engine)
    (post,) = posts_by_ids(engine, ["test:1"])
    assert (post.incident_type, post.incident_labels, post.scored_by) == ("fire", (), None)
    with engine.begin() as conn:
        update_scores(
            conn,
            [
                (
                    1,
                    msgspec.structs.replace(
                        post, incident_labels=("fire", "explosion"), scored_by="accurate"
                    ),
                )
            ],
        )
    (post,) = posts_by_ids(engine, ["test:1"])
    assert (post.incident_labels, post.scored_by) == (("fire", "explosion"), "accurate")
    migrate.downgrade(engine, "0008")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("posts")}
    assert not {"incident_labels", "scored_by"} & columns
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT text FROM posts").scalar() == "brand"
    engine.dispose()
