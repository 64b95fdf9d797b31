"""monitors, their matched posts, matcher watermark, retention log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stadspuls.store.schema import BigIntPK

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("places", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitors"),
        sa.UniqueConstraint("name", name="uq_monitors_name"),
    )
    op.create_table(
        "monitor_posts",
        sa.Column("monitor_id", sa.BigInteger, nullable=False),
        sa.Column("post_pk", sa.BigInteger, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name="fk_monitor_posts_monitor_id_monitors",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_pk"], ["posts.pk"], name="fk_monitor_posts_post_pk_posts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("monitor_id", "post_pk", name="pk_monitor_posts"),
    )
    op.create_index(
        "ix_monitor_posts_monitor_created", "monitor_posts", ["monitor_id", "created_us"]
    )
    op.create_index("ix_monitor_posts_post_pk", "monitor_posts", ["post_pk"])
    op.create_table(
        "matcher_state",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_pk", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_matcher_state"),
    )
    op.create_table(
        "retention_log",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("run_us", sa.BigInteger, nullable=False),
        sa.Column("deleted_posts", sa.BigInteger, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_retention_log"),
    )


def downgrade() -> None:
    op.drop_table("retention_log")
    op.drop_table("matcher_state")
    op.drop_table("monitor_posts")
    op.drop_table("monitors")
