"""`Pipeline.store` on PostgreSQL after the server dropped its connection (a restart): the
driver's error is taken for an unavailable database, not a refused batch, and the next try
stores the batch on a new connection. Before, every post of the batch was counted as rejected
and the pipeline kept its dead connection."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline, unavailable
from stadspuls.settings import Settings
from stadspuls.store.database import open_store
from tests.support.cluster import numbered_posts

pytestmark = pytest.mark.postgres


def test_the_pipeline_reconnects_after_losing_postgresql(settings: Settings, pg_url: str) -> None:
    engine = open_store(pg_url)
    pipeline = Pipeline(engine, build_door(settings.model_copy(update={"enrichers": []})))
    items = numbered_posts(5)
    pipeline.process(items[:2])
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    prepared = pipeline.enrich(items[2:])
    with pytest.raises(psycopg.OperationalError) as lost:
        pipeline.store(prepared)
    assert unavailable(lost.value)
    assert pipeline.stats.rejected == 0
    pipeline.store(prepared)  # a new connection
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM posts")).scalar() == 5
        assert conn.execute(sa.text("SELECT cursor FROM cursors")).scalar() == "5"
    pipeline.close()
    engine.dispose()
