"""the cluster writer's lanes: which collector items are stored, and the checkpoints waiting
for them (docs/cluster.md)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_lanes",
        sa.Column("lane", sa.String(length=300), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("lane", name=op.f("pk_cluster_lanes")),
    )


def downgrade() -> None:
    op.drop_table("cluster_lanes")
