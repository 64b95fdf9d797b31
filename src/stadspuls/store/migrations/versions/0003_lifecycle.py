"""tombstones, file imports with a purpose and retention, per-source status

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stadspuls.store.schema import BigIntPK

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tombstones",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("deleted_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tombstones"),
    )
    op.create_table(
        "imports",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("started_us", sa.BigInteger, nullable=False),
        sa.Column("finished_us", sa.BigInteger),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
    )
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("import_id", sa.BigInteger))
        batch.add_column(sa.Column("meta", sa.Text))
    op.create_index("ix_posts_import_id", "posts", ["import_id"])
    op.create_table(
        "source_status",
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_success_us", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_us", sa.BigInteger),
        sa.Column("error_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("next_retry_us", sa.BigInteger),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_source_status"),
    )


def downgrade() -> None:
    op.drop_table("source_status")
    op.drop_index("ix_posts_import_id", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("meta")
        batch.drop_column("import_id")
    op.drop_table("imports")
    op.drop_table("tombstones")
