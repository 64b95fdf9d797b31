"""consumer cursors, alert rules, alerts with their events and outbox, stories

The linker's watermark moves from `matcher_state` into `consumers` as the cursor of "linker".

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stadspuls.store.schema import BigIntPK

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _monitor_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["monitor_id"], ["monitors.id"], name=f"fk_{table}_monitor_id_monitors", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "consumers",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_pk", sa.BigInteger, nullable=False),
        sa.Column("state", sa.LargeBinary),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_us", sa.BigInteger),
        sa.PrimaryKeyConstraint("name", name="pk_consumers"),
    )
    # The linker's watermark becomes the cursor of the consumer "linker" (created_us unknown: 0).
    op.execute(
        "INSERT INTO consumers (name, last_pk, updated_us, failures)"
        " SELECT 'linker', last_pk, 0, 0 FROM matcher_state WHERE name = 'monitors'"
    )
    op.drop_table("matcher_state")
    op.create_table(
        "alert_rules",
        sa.Column("monitor_id", sa.BigInteger, nullable=False),
        sa.Column("detector", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("sensitivity", sa.Float, nullable=False, server_default="1.0"),
        sa.Column("quiet_hours", sa.String(32)),
        sa.Column("channels", sa.Text),
        sa.Column("params", sa.Text),
        _monitor_fk("alert_rules"),
        sa.PrimaryKeyConstraint("monitor_id", "detector", name="pk_alert_rules"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.BigInteger, nullable=False),
        sa.Column("detector", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("opened_us", sa.BigInteger, nullable=False),
        sa.Column("started_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("triggers", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("observed", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("top_terms", sa.Text),
        sa.Column("top_places", sa.Text),
        sa.Column("post_ids", sa.Text),
        sa.Column("details", sa.Text),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("acknowledged_us", sa.BigInteger),
        sa.Column("closed_by", sa.String(200)),
        sa.Column("closed_us", sa.BigInteger),
        sa.Column("note", sa.Text),
        _monitor_fk("alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_monitor_detector_key", "alerts", ["monitor_id", "detector", "key"])
    op.create_index("ix_alerts_state_opened", "alerts", ["state", "opened_us"])
    op.create_table(
        "alert_events",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_events_alert_id_alerts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_us", sa.BigInteger, nullable=False),
        sa.Column("delivered_us", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name="fk_alert_deliveries_event_id_alert_events",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
    )
    op.create_index("ix_alert_deliveries_state_next", "alert_deliveries", ["state", "next_us"])
    op.create_table(
        "stories",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.BigInteger, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("first_us", sa.BigInteger, nullable=False),
        sa.Column("last_us", sa.BigInteger, nullable=False),
        sa.Column("posts", sa.BigInteger, nullable=False),
        sa.Column("authors", sa.BigInteger, nullable=False),
        sa.Column("top_terms", sa.Text),
        sa.Column("places", sa.Text),
        sa.Column("incident_type", sa.String(32)),
        sa.Column("rumour_score", sa.Float),
        _monitor_fk("stories"),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sa.UniqueConstraint("monitor_id", "key", name="uq_stories_monitor_id"),
    )
    op.create_index("ix_stories_monitor_last", "stories", ["monitor_id", "last_us"])
    op.create_table(
        "story_posts",
        sa.Column("story_id", sa.BigInteger, nullable=False),
        sa.Column("post_pk", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_posts_story_id_stories", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["post_pk"], ["posts.pk"], name="fk_story_posts_post_pk_posts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", "post_pk", name="pk_story_posts"),
    )
    op.create_index("ix_story_posts_post_pk", "story_posts", ["post_pk"])


def downgrade() -> None:
    op.drop_table("story_posts")
    op.drop_table("stories")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_events")
    op.drop_table("alerts")
    op.drop_table("alert_rules")
    op.create_table(
        "matcher_state",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_pk", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_matcher_state"),
    )
    op.execute(
        "INSERT INTO matcher_state (name, last_pk)"
        " SELECT 'monitors', last_pk FROM consumers WHERE name = 'linker'"
    )
    op.drop_table("consumers")
