"""Alembic environment: runs migrations on the connection that `stadspuls.store.migrate` passes."""

from __future__ import annotations

from alembic import context

from stadspuls.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through stadspuls.store.migrate.upgrade(url)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
