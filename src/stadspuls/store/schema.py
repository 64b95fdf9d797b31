"""The one schema definition (SQLAlchemy Core). Alembic migrations are written against it.

Times are stored as integer microseconds since the epoch (UTC): the same arithmetic buckets them
on SQLite and PostgreSQL. The full-text index is not here: it is dialect-specific (an FTS5 table
on SQLite, a tsvector column with a GIN index on PostgreSQL) and created by the migrations.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only aliases the rowid for a column declared exactly INTEGER PRIMARY KEY.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("pk", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(200), nullable=False, unique=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("native_id", sa.String(200), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("collected_us", sa.BigInteger, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("author_key", sa.String(40)),
    sa.Column("url", sa.Text),
    sa.Column("lang_declared", sa.String(8)),
    sa.Column("lang", sa.String(8)),
    sa.Column("lang_score", sa.Float),
    sa.Column("hashtags", sa.Text),  # JSON array
    sa.Column("mentions", sa.Text),  # JSON array of pseudonyms
    sa.Column("links", sa.Text),  # JSON array
    sa.Column("media", sa.Text),  # JSON array
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("reply_to", sa.String(200)),
    sa.Column("repost_of", sa.String(200)),
    sa.Column("content_hash", sa.String(32)),
    sa.Column("simhash", sa.BigInteger),
    sa.Column("duplicate_of", sa.String(200)),
    sa.Column("duplicate_kind", sa.String(8)),
    sa.Column("sentiment", sa.String(16)),
    sa.Column("sentiment_score", sa.Float),
    sa.Column("incident_type", sa.String(32)),
    sa.Column("incident_score", sa.Float),
    sa.Column("incident_labels", sa.Text),  # JSON array, most likely first
    sa.Column("humanitarian", sa.String(48)),
    sa.Column("informativeness", sa.String(48)),
    sa.Column("rumour_score", sa.Float),
    sa.Column("places", sa.Text),  # JSON array of Place objects
    sa.Column("scored_by", sa.String(16)),  # "fast" (the door) or "accurate" (accurate stage)
    sa.Column("import_id", sa.BigInteger),  # the file import that stored it (imports.id), if any
    sa.Column("meta", sa.Text),  # JSON object of source-specific fields (P2000 service, capcodes)
    sa.Index("ix_posts_created_us", "created_us"),
    sa.Index("ix_posts_source_created_us", "source", "created_us"),
    sa.Index("ix_posts_author_created", "author_key", "created_us"),
    sa.Index("ix_posts_import_id", "import_id"),
)

# Stream positions, written in the same transaction as the posts they follow.
cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("stream", sa.String(300), primary_key=True),
    sa.Column("cursor", sa.Text, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

# The cluster writer's record of which items of each collector lane are stored (docs/cluster.md):
# every sequence up to `watermark` is done; `state` (JSON) holds the done sequences above it and
# the checkpoints waiting for the watermark to reach them. Written in the same transaction as the
# posts and cursors, so a restarted writer neither loses a done mark nor stores a cursor early.
cluster_lanes = sa.Table(
    "cluster_lanes",
    metadata,
    sa.Column("lane", sa.String(300), primary_key=True),
    sa.Column("watermark", sa.BigInteger, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

# Per-source counters (received, stored, malformed...), accumulated across runs.
source_counters = sa.Table(
    "source_counters",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("counter", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
)


# Monitors: what an analyst watches, with the purpose and legal basis that allow it.
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("legal_basis", sa.String(32), nullable=False),
    sa.Column("retention_days", sa.Integer, nullable=False),
    sa.Column("places", sa.Text),  # JSON array of place names the monitor is limited to
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

# Which posts each monitor matched; `created_us` (the post's) makes per-monitor time queries
# an index range scan.
monitor_posts = sa.Table(
    "monitor_posts",
    metadata,
    sa.Column(
        "monitor_id",
        sa.BigInteger,
        sa.ForeignKey("monitors.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "post_pk", sa.BigInteger, sa.ForeignKey("posts.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Index("ix_monitor_posts_monitor_created", "monitor_id", "created_us"),
    sa.Index("ix_monitor_posts_post_pk", "post_pk"),
)

# What the retention job deleted: counts only, never contents.
retention_log = sa.Table(
    "retention_log",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("run_us", sa.BigInteger, nullable=False),
    sa.Column("deleted_posts", sa.BigInteger, nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON: counts per reason
)

# Deleted posts: the keyed id and when it was deleted, nothing else. A post whose id is here is
# never stored again, from any source, and a deletion that arrives before its post wins.
tombstones = sa.Table(
    "tombstones",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("deleted_us", sa.BigInteger, nullable=False),
)

# File imports: a deliberate act with a purpose and a retention period that counts from the
# import. Posts an import stored point to it through `posts.import_id`.
imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("started_us", sa.BigInteger, nullable=False),
    sa.Column("finished_us", sa.BigInteger),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("legal_basis", sa.String(32), nullable=False),
    sa.Column("retention_days", sa.Integer, nullable=False),
    sa.Column("files", sa.Text, nullable=False),  # JSON: per file name, content hash, counts
)

# The state of each configured source as its collector last saw it (for /health and
# `sources list`): one row per source, overwritten as the state changes.
source_status = sa.Table(
    "source_status",
    metadata,
    # A stream name such as "rss:{feed url}": as long as a cursor's stream name.
    sa.Column("source", sa.String(300), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),  # "running" | "retrying" | "stopped" ...
    sa.Column("last_success_us", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_us", sa.BigInteger),
    sa.Column("error_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("next_retry_us", sa.BigInteger),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

# Consumers of stored posts (the monitor linker, each detector, ...): each reads the posts after
# its own `last_pk` and advances it in the same transaction as its own output, so a consumer
# that fails retries from where it stopped and loses or duplicates nothing. `state` holds a
# consumer's serialised in-memory state (a detector's baselines) as of `last_pk`.
consumers = sa.Table(
    "consumers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_pk", sa.BigInteger, nullable=False),
    sa.Column("state", sa.LargeBinary),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("failures", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_us", sa.BigInteger),
)

# Which detectors watch a monitor, how sensitive, when to stay quiet and where alerts go.
alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column(
        "monitor_id",
        sa.BigInteger,
        sa.ForeignKey("monitors.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("detector", sa.String(16), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("sensitivity", sa.Float, nullable=False, server_default="1.0"),
    sa.Column("quiet_hours", sa.String(32)),  # "23:00-07:00", Europe/Amsterdam local time
    sa.Column("channels", sa.Text),  # JSON array: "webhook:<name>", "email:<address>", "live"
    sa.Column("params", sa.Text),  # JSON object of detector-specific settings
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "monitor_id",
        sa.BigInteger,
        sa.ForeignKey("monitors.id", ondelete="CASCADE"),
        nullable=False,
    ),
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
    sa.Column("top_terms", sa.Text),  # JSON array
    sa.Column("top_places", sa.Text),  # JSON array
    sa.Column("post_ids", sa.Text),  # JSON array of stored (keyed) post ids
    sa.Column("details", sa.Text),  # JSON object
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("acknowledged_us", sa.BigInteger),
    sa.Column("closed_by", sa.String(200)),
    sa.Column("closed_us", sa.BigInteger),
    sa.Column("note", sa.Text),
    sa.Index("ix_alerts_monitor_detector_key", "monitor_id", "detector", "key"),
    sa.Index("ix_alerts_state_opened", "state", "opened_us"),
)

# Everything that happened to an alert, in order: the live stream and the outbox read this.
alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(16), nullable=False),  # opened|updated|acknowledged|resolved|...
    sa.Column("at_us", sa.BigInteger, nullable=False),  # wall-clock time of the event
    sa.Column("actor", sa.String(200)),  # who acknowledged/resolved; null for the system
    sa.Column("payload", sa.Text, nullable=False),  # JSON: the alert as it was after the event
    sa.Index("ix_alert_events_alert_id", "alert_id"),
)

# The outbox: one row per event and channel target, retried with back-off until delivered.
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "event_id",
        sa.BigInteger,
        sa.ForeignKey("alert_events.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("channel", sa.String(16), nullable=False),  # "webhook" | "email"
    sa.Column("target", sa.Text, nullable=False),  # webhook name or e-mail address
    sa.Column("state", sa.String(16), nullable=False),  # "pending" | "delivered" | "failed"
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_us", sa.BigInteger, nullable=False),
    sa.Column("delivered_us", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_alert_deliveries_state_next", "state", "next_us"),
)

# Stories the story detector formed, with their posts.
stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "monitor_id",
        sa.BigInteger,
        sa.ForeignKey("monitors.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("first_us", sa.BigInteger, nullable=False),
    sa.Column("last_us", sa.BigInteger, nullable=False),
    sa.Column("posts", sa.BigInteger, nullable=False),
    sa.Column("authors", sa.BigInteger, nullable=False),
    sa.Column("top_terms", sa.Text),  # JSON array
    sa.Column("places", sa.Text),  # JSON array of place names
    sa.Column("incident_type", sa.String(32)),
    sa.Column("rumour_score", sa.Float),
    sa.UniqueConstraint("monitor_id", "key", name="uq_stories_monitor_id"),
    sa.Index("ix_stories_monitor_last", "monitor_id", "last_us"),
)

story_posts = sa.Table(
    "story_posts",
    metadata,
    sa.Column(
        "story_id", sa.BigInteger, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "post_pk", sa.BigInteger, sa.ForeignKey("posts.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_story_posts_post_pk", "post_pk"),
)

# Accounts. A user logs in with a password (argon2 hash) and an optional TOTP second factor, or
# through OIDC (`oidc_subject`). Users are disabled, never deleted: the audit log names them.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(200), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("role", sa.String(16), nullable=False),  # one of records.ROLES
    sa.Column("reidentify", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("password_hash", sa.Text),  # argon2id; null for OIDC-only users
    sa.Column("totp_secret", sa.Text),  # sealed (stadspuls.sealed) base32 secret; null: no TOTP
    # The time step of the last accepted TOTP code: a code is good once (RFC 6238, 5.2).
    sa.Column("totp_last_step", sa.BigInteger),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("oidc_subject", sa.String(400), unique=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("last_login_us", sa.BigInteger),
)

# Logged-in browser sessions. The cookie holds a random token; only its SHA-256 is stored, so a
# copy of the database opens no session. `pending_totp`: the password was right, the second
# factor is still to come (such a session grants nothing).
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("pending_totp", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("seen_us", sa.BigInteger, nullable=False),
    sa.Column("expires_us", sa.BigInteger, nullable=False),
    sa.Index("ix_sessions_user_id", "user_id"),
)

# Personal API tokens ("Authorization: Bearer sp_…"); only the SHA-256 of a token is stored.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("last_used_us", sa.BigInteger),
    sa.Column("expires_us", sa.BigInteger),
    sa.Column("revoked_us", sa.BigInteger),
)

# Failed logins per key ("user:<name>", "ip:<address>") for rate limiting, kept in the store so
# that every worker process sees the same count.
login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_us", sa.BigInteger, nullable=False),
    sa.Column("locked_until_us", sa.BigInteger),
)

# The append-only audit log (the migration adds triggers that refuse UPDATE and DELETE). No
# foreign keys: an entry outlives the user, monitor or post it names.
audit_log = sa.Table(
    "audit_log",
    metadata,
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
    sa.Column("details", sa.Text),  # JSON object
    sa.Index("ix_audit_log_at_us", "at_us"),
    sa.Index("ix_audit_log_actor_at", "actor", "at_us"),
)

# Pre-aggregated counts per monitor and hour, kept by the rollup consumer behind the linker, so
# that no page counts over posts. `authors`: distinct author pseudonyms in that hour.
monitor_buckets = sa.Table(
    "monitor_buckets",
    metadata,
    sa.Column(
        "monitor_id",
        sa.BigInteger,
        sa.ForeignKey("monitors.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("start_us", sa.BigInteger, primary_key=True),  # the hour's start (UTC)
    sa.Column("posts", sa.BigInteger, nullable=False),
    sa.Column("authors", sa.BigInteger, nullable=False),
    sa.Column("negative", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("neutral", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("positive", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_us", sa.BigInteger, nullable=False),  # the newest post's created_us
)

# Pre-aggregated facets per monitor and UTC day: kind "tag" (hashtag), "place" (CBS municipality
# code), "type" (incident type), "lang", "source"; `authors` distinct within that day and value;
# `negative`: of those posts, how many with a negative sentiment (the map's negative share).
monitor_facets = sa.Table(
    "monitor_facets",
    metadata,
    sa.Column(
        "monitor_id",
        sa.BigInteger,
        sa.ForeignKey("monitors.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("day_us", sa.BigInteger, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("value", sa.String(200), primary_key=True),
    sa.Column("posts", sa.BigInteger, nullable=False),
    sa.Column("authors", sa.BigInteger, nullable=False),
    sa.Column("negative", sa.BigInteger, nullable=False, server_default="0"),
)

# --- The inbox: citizens' questions and tips (stadspuls.cases) -------------------------------
# Lists and small structures (office hours, a rule's categories, a call's questions, a case's
# answers) are JSON text: read whole, never queried inside.

departments = sa.Table(
    "departments",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("hours", sa.Text, nullable=False),  # JSON: cases.records.OfficeHours
    sa.Column("first_response_hours", sa.Float),
    sa.Column("resolution_hours", sa.Float),
    sa.Column("retention_days", sa.Integer, nullable=False),
    sa.Column("auto_reply_template", sa.String(100)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

# Who works in which department: they see its cases and the contact details of its citizens.
department_members = sa.Table(
    "department_members",
    metadata,
    sa.Column(
        "department_id",
        sa.BigInteger,
        sa.ForeignKey("departments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_department_members_user_id", "user_id"),
)

routing_rules = sa.Table(
    "routing_rules",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "department_id",
        sa.BigInteger,
        sa.ForeignKey("departments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("query", sa.Text),
    sa.Column("categories", sa.Text, nullable=False, server_default="[]"),  # JSON lists
    sa.Column("places", sa.Text, nullable=False, server_default="[]"),
    sa.Column("languages", sa.Text, nullable=False, server_default="[]"),
    sa.Column("kinds", sa.Text, nullable=False, server_default="[]"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Index("ix_routing_rules_position", "position"),
)

reply_templates = sa.Table(
    "reply_templates",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("department_id", sa.BigInteger, sa.ForeignKey("departments.id", ondelete="CASCADE")),
    sa.Column("reviewed_by", sa.String(200)),
    sa.Column("reviewed_us", sa.BigInteger),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    # Who changed it last: the review must be someone else's.
    sa.Column("updated_by", sa.String(200)),
)

# Calls for tips ("oproepen"), each with its public page /oproep/<slug>.
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column(
        "department_id",
        sa.BigInteger,
        sa.ForeignKey("departments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("monitor_id", sa.BigInteger, sa.ForeignKey("monitors.id", ondelete="SET NULL")),
    sa.Column("questions", sa.Text, nullable=False, server_default="[]"),  # JSON
    sa.Column("starts_us", sa.BigInteger, nullable=False),
    sa.Column("ends_us", sa.BigInteger),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("incident_us", sa.BigInteger),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False, server_default=sa.false()),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(32), unique=True),  # set right after the insert
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column(
        "department_id",
        sa.BigInteger,
        sa.ForeignKey("departments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("rule_id", sa.BigInteger, sa.ForeignKey("routing_rules.id", ondelete="SET NULL")),
    sa.Column("route_explanation", sa.Text, nullable=False, server_default=""),
    sa.Column("assignee_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("call_id", sa.BigInteger, sa.ForeignKey("calls.id", ondelete="SET NULL")),
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
    sa.Column("answers", sa.Text, nullable=False, server_default="{}"),  # JSON
    # SHA-256 of the status page's unguessable token (web reports); the token is shown once.
    sa.Column("status_token_hash", sa.String(64), unique=True),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("first_response_us", sa.BigInteger),
    sa.Column("closed_us", sa.BigInteger),
    sa.Column("first_response_due_us", sa.BigInteger),
    sa.Column("resolution_due_us", sa.BigInteger),
    sa.Index("ix_cases_department_state", "department_id", "state", "updated_us"),
    sa.Index("ix_cases_state_updated", "state", "updated_us"),
    sa.Index("ix_cases_call_id", "call_id"),
    sa.Index("ix_cases_closed_us", "closed_us"),
)

# Contact details and the reply address of a case, sealed (AES-GCM, `Sealer`) under the inbox's
# own key with "case:<id>" as associated data; kept apart from the case and from monitoring data.
case_contacts = sa.Table(
    "case_contacts",
    metadata,
    sa.Column(
        "case_id", sa.BigInteger, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sealed", sa.Text, nullable=False),  # a sealed JSON cases.records.Contact
)

# The conversation: messages in from the citizen and replies out. A reply is its own outbox
# row: `delivery` "queued" until its channel took it ("sent"), retried with back-off, or
# "failed"; "status_page" for a web report without an e-mail address.
case_messages = sa.Table(
    "case_messages",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "case_id", sa.BigInteger, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("direction", sa.String(3), nullable=False),  # "in" | "out"
    sa.Column("channel", sa.String(16), nullable=False),
    # The channel's own id (Message-ID, notification or status id, post URI, web submission id):
    # receiving the same message twice is a no-op.
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
    sa.UniqueConstraint("channel", "external_id", name="uq_case_messages_channel_external"),
    sa.Index("ix_case_messages_case_id", "case_id", "at_us"),
    sa.Index("ix_case_messages_delivery", "delivery", "next_attempt_us"),
)

# A case's history; the migration adds a trigger that refuses UPDATE (rows go only with their
# case, when its department's retention period has passed).
case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "case_id", sa.BigInteger, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Index("ix_case_events_case_id", "case_id", "id"),
)

# Photos and videos of cases. The original is a file in the media vault named by its SHA-256
# (kept byte for byte); staff see a metadata-stripped copy and a thumbnail.
media = sa.Table(
    "media",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "case_id", sa.BigInteger, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
    ),
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
    sa.Column("group_id", sa.BigInteger),  # the first media row of its near-identical group
    sa.Index("ix_media_case_id", "case_id"),
    sa.Index("ix_media_sha256", "sha256"),
    sa.Index("ix_media_group_id", "group_id"),
)

# Perceptual hashes of images seen in monitored posts, so that a citizen's photo can be found
# to have been posted before ("on Bluesky 3 days ago": likely recycled).
media_seen = sa.Table(
    "media_seen",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "post_pk", sa.BigInteger, sa.ForeignKey("posts.pk", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("url_hash", sa.String(64), nullable=False),  # SHA-256 of the media URL
    sa.Column("phash", sa.String(16), nullable=False),
    sa.Column("seen_us", sa.BigInteger, nullable=False),  # the post's created time
    sa.UniqueConstraint("post_pk", "url_hash", name="uq_media_seen_post_url"),
)

# Abuse limits of the public intake: counts per (keyed hash of an address, or a call) and time
# window. No raw address is stored.
intake_quota = sa.Table(
    "intake_quota",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("window_us", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# --- Publishing (zenden) ------------------------------------------------------------------
# A publication written once for several targets; `publication_deliveries` holds one outbox row
# per target. Texts are the organisation's own words, not personal data.
publications = sa.Table(
    "publications",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("variants", sa.Text, nullable=False, server_default="{}"),  # JSON target -> text
    sa.Column("link", sa.String(1000)),
    sa.Column("media", sa.Text, nullable=False, server_default="[]"),  # JSON [MediaItem]
    sa.Column("targets", sa.Text, nullable=False, server_default='["news"]'),  # JSON
    sa.Column("lang", sa.String(8), nullable=False, server_default="nl"),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("monitor_id", sa.BigInteger, sa.ForeignKey("monitors.id", ondelete="SET NULL")),
    sa.Column("alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="SET NULL")),
    sa.Column("template", sa.String(100)),
    sa.Column("scheduled_us", sa.BigInteger),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("submitted_us", sa.BigInteger),
    sa.Column("approved_by", sa.String(200)),
    sa.Column("approved_us", sa.BigInteger),
    sa.Column("crisis", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("rejected_reason", sa.Text),
    sa.Column("published_us", sa.BigInteger),
    sa.Column("slug", sa.String(120)),
    sa.Index("ix_publications_state", "state", "scheduled_us"),
    sa.Index("ix_publications_published_us", "published_us"),
    sa.Index("ix_publications_monitor_id", "monitor_id"),
)

publication_deliveries = sa.Table(
    "publication_deliveries",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "publication_id",
        sa.BigInteger,
        sa.ForeignKey("publications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("target", sa.String(80), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_us", sa.BigInteger, nullable=False),  # due (or leased until) this time
    sa.Column("last_error", sa.Text),
    sa.Column("external_id", sa.String(500)),  # status id, at:// URI
    sa.Column("url", sa.String(1000)),
    sa.Column("sent_us", sa.BigInteger),
    sa.UniqueConstraint("publication_id", "target", name="uq_publication_deliveries_target"),
    sa.Index("ix_publication_deliveries_due", "state", "next_us"),
    sa.Index("ix_publication_deliveries_external_id", "external_id"),
)

# Append-only (a trigger refuses UPDATE, as for case_events).
publication_events = sa.Table(
    "publication_events",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "publication_id",
        sa.BigInteger,
        sa.ForeignKey("publications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Index("ix_publication_events_publication_id", "publication_id", "id"),
)

publish_templates = sa.Table(
    "publish_templates",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("lang", sa.String(8), nullable=False, server_default="nl"),
    sa.Column("updated_by", sa.String(200), nullable=False, server_default=""),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

crisis_modes = sa.Table(
    "crisis_modes",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("declared_by", sa.String(200), nullable=False),
    sa.Column("declared_us", sa.BigInteger, nullable=False),
    sa.Column("until_us", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("ended_by", sa.String(200)),
    sa.Column("ended_us", sa.BigInteger),
)

# Collected posts that respond to one of our publications (a reply to, a repost or quote of our
# status, or a post linking to our news page), found by the consumer "publication-responses".
publication_responses = sa.Table(
    "publication_responses",
    metadata,
    sa.Column(
        "publication_id",
        sa.BigInteger,
        sa.ForeignKey("publications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "post_pk", sa.BigInteger, sa.ForeignKey("posts.pk", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("kind", sa.String(8), nullable=False),  # reply | repost | quote | link
    sa.Column("created_us", sa.BigInteger, nullable=False),  # the post's time
    sa.Column("sentiment", sa.String(16)),
    sa.Index("ix_publication_responses_time", "publication_id", "created_us"),
)

# --- Volunteers and call-outs -------------------------------------------------------------
# Name, e-mail, home point and push subscriptions are sealed (AES-GCM under the volunteers' own
# key, "volunteer:<id>"). The cells are keyed hashes (HMAC) of grid cells around the home point:
# the selection finds candidates by them without a readable location in the database.
volunteers = sa.Table(
    "volunteers",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    # HMAC of the normalised e-mail address: one registration per address, no address in clear.
    sa.Column("email_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("sealed", sa.Text, nullable=False),  # a sealed JSON VolunteerPrivate
    sa.Column("cell", sa.String(32), nullable=False),  # blind index of the fine grid cell
    sa.Column("cell_coarse", sa.String(32), nullable=False),  # blind index of the coarse cell
    sa.Column("radius_km", sa.Float, nullable=False),
    sa.Column("skills", sa.Integer, nullable=False, server_default="0"),  # bit i: SKILLS[i]
    sa.Column("availability", sa.Text, nullable=False, server_default="[]"),  # JSON spans
    sa.Column("channels", sa.Text, nullable=False, server_default='["email"]'),  # JSON
    sa.Column("lang", sa.String(8), nullable=False, server_default="nl"),
    sa.Column("state", sa.String(16), nullable=False),  # pending | active | paused
    # SHA-256 of the e-mail confirmation token (pending registrations only).
    sa.Column("verify_hash", sa.String(64), unique=True),
    sa.Column("consent_version", sa.String(16), nullable=False),
    sa.Column("consent_us", sa.BigInteger, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("verified_us", sa.BigInteger),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("last_called_us", sa.BigInteger),
    sa.Index("ix_volunteers_cell", "cell"),
    sa.Index("ix_volunteers_cell_coarse", "cell_coarse"),
    sa.Index("ix_volunteers_state_created", "state", "created_us"),
)

callouts = sa.Table(
    "callouts",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),  # the incident's point, not a volunteer's
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("place_label", sa.String(200), nullable=False, server_default=""),
    sa.Column("radius_km", sa.Float, nullable=False),
    sa.Column("skills", sa.Integer, nullable=False, server_default="0"),  # bit i: SKILLS[i]
    sa.Column("wanted", sa.Integer, nullable=False),
    sa.Column("expires_us", sa.BigInteger, nullable=False),
    sa.Column("alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="SET NULL")),
    sa.Column("state", sa.String(16), nullable=False),  # open | closed | expired
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("closed_by", sa.String(200)),
    sa.Column("closed_us", sa.BigInteger),
    sa.Index("ix_callouts_state", "state", "expires_us"),
    sa.Index("ix_callouts_created_us", "created_us"),
)

# Who was selected for a call-out and why; a volunteer who leaves becomes NULL here (the row, with
# its distance and answer, stays for the call-out's log without anyone to link it to).
callout_targets = sa.Table(
    "callout_targets",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "callout_id",
        sa.BigInteger,
        sa.ForeignKey("callouts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("volunteer_id", sa.BigInteger, sa.ForeignKey("volunteers.id", ondelete="SET NULL")),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("distance_m", sa.Integer, nullable=False),
    sa.Column("skills", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reason", sa.String(300), nullable=False, server_default=""),
    sa.Column("selected_us", sa.BigInteger, nullable=False),
    sa.Column("reached", sa.Text, nullable=False, server_default="[]"),  # JSON channels
    sa.Column("answer", sa.String(16)),  # accepted | declined | arrived
    sa.Column("answered_us", sa.BigInteger),
    sa.Column("arrived_us", sa.BigInteger),
    sa.UniqueConstraint("callout_id", "volunteer_id", name="uq_callout_targets_volunteer"),
    sa.Index("ix_callout_targets_callout_id", "callout_id", "rank"),
    sa.Index("ix_callout_targets_volunteer", "volunteer_id", "selected_us"),
)

# Append-only (a trigger refuses UPDATE).
callout_events = sa.Table(
    "callout_events",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "callout_id",
        sa.BigInteger,
        sa.ForeignKey("callouts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Index("ix_callout_events_callout_id", "callout_id", "id"),
)

# The notifications of call-outs: one outbox row per (target, channel), claimed with a lease.
callout_notifications = sa.Table(
    "callout_notifications",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column(
        "target_id",
        sa.BigInteger,
        sa.ForeignKey("callout_targets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("channel", sa.String(8), nullable=False),  # push | email
    sa.Column("state", sa.String(16), nullable=False),  # pending | sent | failed | gone
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_us", sa.BigInteger, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_us", sa.BigInteger),
    sa.UniqueConstraint("target_id", "channel", name="uq_callout_notifications_channel"),
    sa.Index("ix_callout_notifications_due", "state", "next_us"),
)
