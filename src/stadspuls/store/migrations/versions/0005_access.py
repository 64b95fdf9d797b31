"""accounts, sessions, API tokens, login rate limits, the audit log, pre-aggregated monitor counts

The audit log is append-only: triggers refuse UPDATE and DELETE on both databases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stadspuls.store.schema import BigIntPK

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    other = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=f"fk_{table}_{column}_{other}", ondelete="CASCADE"
    )


_APPEND_ONLY_SQLITE = """
CREATE TRIGGER audit_log_no_{verb} BEFORE {verb} ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
"""
_APPEND_ONLY_PG_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$
"""
_APPEND_ONLY_PG_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("reidentify", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("password_hash", sa.Text),
        sa.Column("totp_secret", sa.Text),
        sa.Column("totp_last_step", sa.BigInteger),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("oidc_subject", sa.String(400)),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("last_login_us", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.UniqueConstraint("oidc_subject", name="uq_users_oidc_subject"),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("pending_totp", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("seen_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
        _fk("sessions", "user_id", "users.id"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sessions"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("last_used_us", sa.BigInteger),
        sa.Column("expires_us", sa.BigInteger),
        sa.Column("revoked_us", sa.BigInteger),
        _fk("api_tokens", "user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_us", sa.BigInteger, nullable=False),
        sa.Column("locked_until_us", sa.BigInteger),
        sa.PrimaryKeyConstraint("key", name="pk_login_attempts"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("monitor_id", sa.BigInteger),
        sa.Column("query", sa.Text),
        sa.Column("posts", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at_us", "audit_log", ["at_us"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at_us"])
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(_APPEND_ONLY_SQLITE.format(verb=verb))
    else:
        op.execute(_APPEND_ONLY_PG_FUNCTION)
        op.execute(_APPEND_ONLY_PG_TRIGGER)
    op.create_table(
        "monitor_buckets",
        sa.Column("monitor_id", sa.BigInteger, nullable=False),
        sa.Column("start_us", sa.BigInteger, nullable=False),
        sa.Column("posts", sa.BigInteger, nullable=False),
        sa.Column("authors", sa.BigInteger, nullable=False),
        sa.Column("negative", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("neutral", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("positive", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_us", sa.BigInteger, nullable=False),
        _fk("monitor_buckets", "monitor_id", "monitors.id"),
        sa.PrimaryKeyConstraint("monitor_id", "start_us", name="pk_monitor_buckets"),
    )
    op.create_table(
        "monitor_facets",
        sa.Column("monitor_id", sa.BigInteger, nullable=False),
        sa.Column("day_us", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("posts", sa.BigInteger, nullable=False),
        sa.Column("authors", sa.BigInteger, nullable=False),
        sa.Column("negative", sa.BigInteger, nullable=False, server_default="0"),
        _fk("monitor_facets", "monitor_id", "monitors.id"),
        sa.PrimaryKeyConstraint("monitor_id", "day_us", "kind", "value", name="pk_monitor_facets"),
    )
    # The rollup looks up the earlier posts of a chunk's authors on the chunk's days: an index
    # on (author, time) instead of the author alone (which still serves lookups by author).
    op.drop_index("ix_posts_author_key", table_name="posts")
    op.create_index("ix_posts_author_created", "posts", ["author_key", "created_us"])


def downgrade() -> None:
    op.drop_index("ix_posts_author_created", table_name="posts")
    op.create_index("ix_posts_author_key", "posts", ["author_key"])
    op.drop_table("monitor_facets")
    op.drop_table("monitor_buckets")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("login_attempts")
    op.drop_table("api_tokens")
    op.drop_table("sessions")
    op.drop_table("users")
