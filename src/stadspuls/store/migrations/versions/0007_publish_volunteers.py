"""publishing (publications, their deliveries per target, history, templates, crisis mode,
responses) and volunteers with geo call-outs (sealed volunteers, call-outs, selected targets,
their notifications and history)

The histories of a publication and of a call-out are append-only: a trigger refuses UPDATE on
both databases.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stadspuls.store.schema import BigIntPK

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("publication_events", "callout_events")


def _no_update(table: str, dialect: str) -> list[str]:
    message = f"the history in {table} is append-only"
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        ]
    return [
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{message}'; END $$",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
    ]


def upgrade() -> None:
    op.create_table(
        "crisis_modes",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("declared_by", sa.String(length=200), nullable=False),
        sa.Column("declared_us", sa.BigInteger(), nullable=False),
        sa.Column("until_us", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.Column("ended_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_modes")),
    )
    op.create_table(
        "publish_templates",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=8), server_default="nl", nullable=False),
        sa.Column("updated_by", sa.String(length=200), server_default="", nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_publish_templates_name")),
    )
    op.create_table(
        "volunteers",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("cell", sa.String(length=32), nullable=False),
        sa.Column("cell_coarse", sa.String(length=32), nullable=False),
        sa.Column("radius_km", sa.Float(), nullable=False),
        sa.Column("skills", sa.Integer(), server_default="0", nullable=False),
        sa.Column("availability", sa.Text(), server_default="[]", nullable=False),
        sa.Column("channels", sa.Text(), server_default='["email"]', nullable=False),
        sa.Column("lang", sa.String(length=8), server_default="nl", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("verify_hash", sa.String(length=64), nullable=True),
        sa.Column("consent_version", sa.String(length=16), nullable=False),
        sa.Column("consent_us", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("verified_us", sa.BigInteger(), nullable=True),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.Column("last_called_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteers")),
        sa.UniqueConstraint("email_hash", name=op.f("uq_volunteers_email_hash")),
        sa.UniqueConstraint("verify_hash", name=op.f("uq_volunteers_verify_hash")),
    )
    op.create_index("ix_volunteers_cell", "volunteers", ["cell"], unique=False)
    op.create_index("ix_volunteers_cell_coarse", "volunteers", ["cell_coarse"], unique=False)
    op.create_index(
        "ix_volunteers_state_created", "volunteers", ["state", "created_us"], unique=False
    )
    op.create_table(
        "callouts",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("place_label", sa.String(length=200), server_default="", nullable=False),
        sa.Column("radius_km", sa.Float(), nullable=False),
        sa.Column("skills", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wanted", sa.Integer(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_callouts_alert_id_alerts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callouts")),
    )
    op.create_index("ix_callouts_created_us", "callouts", ["created_us"], unique=False)
    op.create_index("ix_callouts_state", "callouts", ["state", "expires_us"], unique=False)
    op.create_table(
        "publications",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("variants", sa.Text(), server_default="{}", nullable=False),
        sa.Column("link", sa.String(length=1000), nullable=True),
        sa.Column("media", sa.Text(), server_default="[]", nullable=False),
        sa.Column("targets", sa.Text(), server_default='["news"]', nullable=False),
        sa.Column("lang", sa.String(length=8), server_default="nl", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("monitor_id", sa.BigInteger(), nullable=True),
        sa.Column("alert_id", sa.BigInteger(), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=True),
        sa.Column("scheduled_us", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.Column("submitted_us", sa.BigInteger(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_us", sa.BigInteger(), nullable=True),
        sa.Column("crisis", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        sa.Column("published_us", sa.BigInteger(), nullable=True),
        sa.Column("slug", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_publications_alert_id_alerts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_publications_monitor_id_monitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    op.create_index("ix_publications_monitor_id", "publications", ["monitor_id"], unique=False)
    op.create_index("ix_publications_published_us", "publications", ["published_us"], unique=False)
    op.create_index(
        "ix_publications_state", "publications", ["state", "scheduled_us"], unique=False
    )
    op.create_table(
        "callout_events",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("callout_id", sa.BigInteger(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["callout_id"],
            ["callouts.id"],
            name=op.f("fk_callout_events_callout_id_callouts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callout_events")),
    )
    op.create_index(
        "ix_callout_events_callout_id", "callout_events", ["callout_id", "id"], unique=False
    )
    op.create_table(
        "callout_targets",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("callout_id", sa.BigInteger(), nullable=False),
        sa.Column("volunteer_id", sa.BigInteger(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Integer(), nullable=False),
        sa.Column("skills", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reason", sa.String(length=300), server_default="", nullable=False),
        sa.Column("selected_us", sa.BigInteger(), nullable=False),
        sa.Column("reached", sa.Text(), server_default="[]", nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answered_us", sa.BigInteger(), nullable=True),
        sa.Column("arrived_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["callout_id"],
            ["callouts.id"],
            name=op.f("fk_callout_targets_callout_id_callouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_callout_targets_volunteer_id_volunteers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callout_targets")),
        sa.UniqueConstraint("callout_id", "volunteer_id", name="uq_callout_targets_volunteer"),
    )
    op.create_index(
        "ix_callout_targets_callout_id", "callout_targets", ["callout_id", "rank"], unique=False
    )
    op.create_index(
        "ix_callout_targets_volunteer",
        "callout_targets",
        ["volunteer_id", "selected_us"],
        unique=False,
    )
    op.create_table(
        "publication_deliveries",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("publication_id", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_us", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=500), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("sent_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_deliveries_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_deliveries")),
        sa.UniqueConstraint("publication_id", "target", name="uq_publication_deliveries_target"),
    )
    op.create_index(
        "ix_publication_deliveries_due",
        "publication_deliveries",
        ["state", "next_us"],
        unique=False,
    )
    op.create_index(
        "ix_publication_deliveries_external_id",
        "publication_deliveries",
        ["external_id"],
        unique=False,
    )
    op.create_table(
        "publication_events",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("publication_id", sa.BigInteger(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_events_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_events")),
    )
    op.create_index(
        "ix_publication_events_publication_id",
        "publication_events",
        ["publication_id", "id"],
        unique=False,
    )
    op.create_table(
        "publication_responses",
        sa.Column("publication_id", sa.BigInteger(), nullable=False),
        sa.Column("post_pk", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_pk"],
            ["posts.pk"],
            name=op.f("fk_publication_responses_post_pk_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_responses_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", "post_pk", name=op.f("pk_publication_responses")),
    )
    op.create_index(
        "ix_publication_responses_time",
        "publication_responses",
        ["publication_id", "created_us"],
        unique=False,
    )
    op.create_table(
        "callout_notifications",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_us", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["callout_targets.id"],
            name=op.f("fk_callout_notifications_target_id_callout_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callout_notifications")),
        sa.UniqueConstraint("target_id", "channel", name="uq_callout_notifications_channel"),
    )
    op.create_index(
        "ix_callout_notifications_due", "callout_notifications", ["state", "next_us"], unique=False
    )
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        for statement in _no_update(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION {table}_append_only()")
    op.drop_table("callout_notifications")
    op.drop_table("callout_events")
    op.drop_table("callout_targets")
    op.drop_table("callouts")
    op.drop_table("volunteers")
    op.drop_table("publication_responses")
    op.drop_table("publication_events")
    op.drop_table("publication_deliveries")
    op.drop_table("publications")
    op.drop_table("crisis_modes")
    op.drop_table("publish_templates")
