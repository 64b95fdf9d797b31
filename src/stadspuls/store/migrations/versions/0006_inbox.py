"""the inbox: departments, routing rules, reply templates, calls for tips, cases with their
sealed contacts, conversation, history and media; perceptual hashes of media in monitored posts;
abuse limits of the public intake

A case's history is append-only: a trigger refuses UPDATE on both databases (rows go with their
case when its retention period has passed).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stadspuls.store.schema import BigIntPK

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    other = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=f"fk_{table}_{column}_{other}", ondelete=ondelete
    )


_NO_UPDATE_SQLITE = """
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'the history of a case is append-only'); END
"""
_NO_UPDATE_PG_FUNCTION = """
CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the history of a case is append-only'; END $$
"""
_NO_UPDATE_PG_TRIGGER = """
CREATE TRIGGER case_events_append_only BEFORE UPDATE ON case_events
FOR EACH ROW EXECUTE FUNCTION case_events_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("hours", sa.Text, nullable=False),
        sa.Column("first_response_hours", sa.Float),
        sa.Column("resolution_hours", sa.Float),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("auto_reply_template", sa.String(100)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
        sa.UniqueConstraint("slug", name="uq_departments_slug"),
    )
    op.create_table(
        "department_members",
        sa.Column("department_id", sa.BigInteger),
        sa.Column("user_id", sa.BigInteger),
        sa.PrimaryKeyConstraint("department_id", "user_id", name="pk_department_members"),
        _fk("department_members", "department_id", "departments.id", "CASCADE"),
        _fk("department_members", "user_id", "users.id", "CASCADE"),
    )
    op.create_index("ix_department_members_user_id", "department_members", ["user_id"])
    op.create_table(
        "routing_rules",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("department_id", sa.BigInteger, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("query", sa.Text),
        sa.Column("categories", sa.Text, nullable=False, server_default="[]"),
        sa.Column("places", sa.Text, nullable=False, server_default="[]"),
        sa.Column("languages", sa.Text, nullable=False, server_default="[]"),
        sa.Column("kinds", sa.Text, nullable=False, server_default="[]"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_rules"),
        _fk("routing_rules", "department_id", "departments.id", "CASCADE"),
    )
    op.create_index("ix_routing_rules_position", "routing_rules", ["position"])
    op.create_table(
        "reply_templates",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False, server_default=""),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("department_id", sa.BigInteger),
        sa.Column("reviewed_by", sa.String(200)),
        sa.Column("reviewed_us", sa.BigInteger),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_reply_templates"),
        _fk("reply_templates", "department_id", "departments.id", "CASCADE"),
        sa.UniqueConstraint("name", name="uq_reply_templates_name"),
    )
    op.create_table(
        "calls",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("department_id", sa.BigInteger, nullable=False),
        sa.Column("monitor_id", sa.BigInteger),
        sa.Column("questions", sa.Text, nullable=False, server_default="[]"),
        sa.Column("starts_us", sa.BigInteger, nullable=False),
        sa.Column("ends_us", sa.BigInteger),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("incident_us", sa.BigInteger),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_calls"),
        _fk("calls", "department_id", "departments.id", "RESTRICT"),
        _fk("calls", "monitor_id", "monitors.id", "SET NULL"),
        sa.UniqueConstraint("slug", name="uq_calls_slug"),
    )
    op.create_table(
        "cases",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(32)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("department_id", sa.BigInteger, nullable=False),
        sa.Column("rule_id", sa.BigInteger),
        sa.Column("route_explanation", sa.Text, nullable=False, server_default=""),
        sa.Column("assignee_id", sa.BigInteger),
        sa.Column("call_id", sa.BigInteger),
        sa.Column("subject", sa.String(300), nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("category", sa.String(64)),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("address", sa.String(300)),
        sa.Column("place_code", sa.String(16)),
        sa.Column("place_name", sa.String(200)),
        sa.Column("occurred_us", sa.BigInteger),
        sa.Column("answers", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status_token_hash", sa.String(64)),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("first_response_us", sa.BigInteger),
        sa.Column("closed_us", sa.BigInteger),
        sa.Column("first_response_due_us", sa.BigInteger),
        sa.Column("resolution_due_us", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        _fk("cases", "call_id", "calls.id", "SET NULL"),
        _fk("cases", "assignee_id", "users.id", "SET NULL"),
        _fk("cases", "department_id", "departments.id", "RESTRICT"),
        _fk("cases", "rule_id", "routing_rules.id", "SET NULL"),
        sa.UniqueConstraint("reference", name="uq_cases_reference"),
        sa.UniqueConstraint("status_token_hash", name="uq_cases_status_token_hash"),
    )
    op.create_index("ix_cases_call_id", "cases", ["call_id"])
    op.create_index("ix_cases_closed_us", "cases", ["closed_us"])
    op.create_index("ix_cases_department_state", "cases", ["department_id", "state", "updated_us"])
    op.create_index("ix_cases_state_updated", "cases", ["state", "updated_us"])
    op.create_table(
        "case_contacts",
        sa.Column("case_id", sa.BigInteger),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_contacts"),
        _fk("case_contacts", "case_id", "cases.id", "CASCADE"),
    )
    op.create_table(
        "case_messages",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(500)),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.String(300), nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False, server_default=""),
        sa.Column("template", sa.String(100)),
        sa.Column("delivery", sa.String(16)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_us", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_us", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name="pk_case_messages"),
        _fk("case_messages", "case_id", "cases.id", "CASCADE"),
        sa.UniqueConstraint("channel", "external_id", name="uq_case_messages_channel_external"),
    )
    op.create_index("ix_case_messages_case_id", "case_messages", ["case_id", "at_us"])
    op.create_index("ix_case_messages_delivery", "case_messages", ["delivery", "next_attempt_us"])
    op.create_table(
        "case_events",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        _fk("case_events", "case_id", "cases.id", "CASCADE"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id", "id"])
    op.create_table(
        "media",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False, server_default=""),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("taken_us", sa.BigInteger),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("phash", sa.String(16)),
        sa.Column("c2pa", sa.Text),
        sa.Column("received_us", sa.BigInteger, nullable=False),
        sa.Column("group_id", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name="pk_media"),
        _fk("media", "case_id", "cases.id", "CASCADE"),
    )
    op.create_index("ix_media_case_id", "media", ["case_id"])
    op.create_index("ix_media_group_id", "media", ["group_id"])
    op.create_index("ix_media_sha256", "media", ["sha256"])
    op.create_table(
        "media_seen",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("post_pk", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("url_hash", sa.String(64), nullable=False),
        sa.Column("phash", sa.String(16), nullable=False),
        sa.Column("seen_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_media_seen"),
        _fk("media_seen", "post_pk", "posts.pk", "CASCADE"),
        sa.UniqueConstraint("post_pk", "url_hash", name="uq_media_seen_post_url"),
    )
    op.create_table(
        "intake_quota",
        sa.Column("key", sa.String(100)),
        sa.Column("window_us", sa.BigInteger),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", "window_us", name="pk_intake_quota"),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_NO_UPDATE_SQLITE)
    else:
        op.execute(_NO_UPDATE_PG_FUNCTION)
        op.execute(_NO_UPDATE_PG_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER case_events_append_only ON case_events")
        op.execute("DROP FUNCTION case_events_append_only()")
    op.drop_table("intake_quota")
    op.drop_table("media_seen")
    op.drop_table("media")
    op.drop_table("case_events")
    op.drop_table("case_messages")
    op.drop_table("case_contacts")
    op.drop_table("cases")
    op.drop_table("calls")
    op.drop_table("reply_templates")
    op.drop_table("routing_rules")
    op.drop_table("department_members")
    op.drop_table("departments")
