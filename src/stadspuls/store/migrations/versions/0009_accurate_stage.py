"""the accurate stage: every incident type above its threshold, and which stage scored a post

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: adding them rewrites no row on either database. Posts stored before
    # have no labels and no stage recorded (the door's fast scores).
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("incident_labels", sa.Text))  # JSON array
        batch.add_column(sa.Column("scored_by", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("scored_by")
        batch.drop_column("incident_labels")
