"""Accounts, browser sessions and personal API tokens.

Tokens and session cookies are random secrets handed to the client once; the store keeps only
their SHA-256, so reading the database opens no account.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import NamedTuple

import sqlalchemy as sa

from stadspuls.records import ROLES, Actor, User
from stadspuls.store.rows import from_us
from stadspuls.store.schema import api_tokens, sessions, users

TOKEN_PREFIX = "sp_"  # noqa: S105 (a prefix that marks our tokens in logs and scanners)


class UserExists(ValueError):
    pass


def now_us() -> int:
    return time.time_ns() // 1000


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _row_to_user(row: sa.RowMapping) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        reidentify=bool(row["reidentify"]),
        active=bool(row["active"]),
        totp=row["totp_secret"] is not None,
        oidc_subject=row["oidc_subject"],
        created_at=from_us(row["created_us"]),
        last_login_at=None if row["last_login_us"] is None else from_us(row["last_login_us"]),
    )


def create_user(engine: sa.Engine, user: User, *, password_hash: str | None) -> User:
    """Insert `user` (its `id` is ignored) with an already hashed password (or None)."""
    if user.role not in ROLES:
        raise ValueError(f"unknown role {user.role!r}: one of {', '.join(ROLES)}")
    now = now_us()
    try:
        with engine.begin() as conn:
            new_id = conn.execute(
                users.insert().values(
                    username=user.username,
                    display_name=user.display_name,
                    role=user.role,
                    reidentify=user.reidentify,
                    password_hash=password_hash,
                    active=user.active,
                    oidc_subject=user.oidc_subject,
                    created_us=now,
                    updated_us=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
    except sa.exc.IntegrityError as error:
        raise UserExists(f"a user {user.username!r} exists already") from error
    found = get_user(engine, int(new_id))
    assert found is not None
    return found


def get_user(engine: sa.Engine, user_id: int) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
    return None if row is None else _row_to_user(row)


def find_user(engine: sa.Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    return None if row is None else _row_to_user(row)


def list_users(engine: sa.Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(users).order_by(users.c.username)).mappings().all()
    return [_row_to_user(row) for row in rows]


def actor_of(user: User, via: str) -> Actor:
    return Actor(
        user_id=user.id, username=user.username, role=user.role, reidentify=user.reidentify, via=via
    )


def create_token(
    engine: sa.Engine, user_id: int, name: str, *, expires_us: int | None = None
) -> str:
    """A new personal API token for the user; the secret is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert().values(
                user_id=user_id,
                name=name,
                token_hash=digest(token),
                created_us=now_us(),
                expires_us=expires_us,
            )
        )
    return token


def actor_for_token(engine: sa.Engine, token: str) -> Actor | None:
    """The actor a bearer token stands for: None when unknown, revoked, expired or disabled."""
    now = now_us()
    query = (
        sa.select(users, api_tokens.c.id.label("token_id"))
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_hash == digest(token),
            api_tokens.c.revoked_us.is_(None),
            sa.or_(api_tokens.c.expires_us.is_(None), api_tokens.c.expires_us > now),
            users.c.active.is_(True),
        )
    )
    with engine.begin() as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        # Last use to the minute: enough to spot a stale token, not a write per request.
        conn.execute(
            api_tokens.update()
            .where(
                api_tokens.c.id == row["token_id"],
                sa.or_(
                    api_tokens.c.last_used_us.is_(None),
                    api_tokens.c.last_used_us < now - 60_000_000,
                ),
            )
            .values(last_used_us=now)
        )
    return actor_of(_row_to_user(row), "token")


def create_session(
    engine: sa.Engine, user_id: int, *, ttl_s: int, pending_totp: bool = False
) -> tuple[str, str]:
    """A new session for the user: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = now_us()
    with engine.begin() as conn:
        # Sessions that ran out are of no use to anyone: forget them as new ones start.
        conn.execute(sessions.delete().where(sessions.c.expires_us <= now))
        conn.execute(
            sessions.insert().values(
                token_hash=digest(token),
                user_id=user_id,
                csrf=csrf,
                pending_totp=pending_totp,
                created_us=now,
                seen_us=now,
                expires_us=now + ttl_s * 1_000_000,
            )
        )
    return token, csrf


class SessionInfo:
    """A live session: who, its CSRF token, and whether the second factor is still due."""

    __slots__ = ("actor", "csrf", "pending_totp", "user_id")

    def __init__(self, actor: Actor, csrf: str, pending_totp: bool, user_id: int) -> None:
        self.actor, self.csrf, self.pending_totp, self.user_id = actor, csrf, pending_totp, user_id


def session_for(engine: sa.Engine, token: str) -> SessionInfo | None:
    """The live session of a cookie token: None when unknown, expired or the user disabled."""
    now = now_us()
    query = (
        sa.select(users, sessions.c.csrf, sessions.c.pending_totp, sessions.c.seen_us)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(
            sessions.c.token_hash == digest(token),
            sessions.c.expires_us > now,
            users.c.active.is_(True),
        )
    )
    with engine.begin() as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        if row["seen_us"] < now - 60_000_000:
            conn.execute(
                sessions.update().where(sessions.c.token_hash == digest(token)).values(seen_us=now)
            )
    user = _row_to_user(row)
    return SessionInfo(actor_of(user, "session"), row["csrf"], bool(row["pending_totp"]), row["id"])


def delete_session(engine: sa.Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.token_hash == digest(token)))


# --- Changes to accounts. They take the caller's connection, so that a change and the audit
# row that records it commit together.


def count_users(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def credentials(engine: sa.Engine, username: str) -> tuple[User, str | None] | None:
    """The user named `username` and their password hash (None for OIDC-only users)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    return None if row is None else (_row_to_user(row), row["password_hash"])


def find_user_by_subject(engine: sa.Engine, subject: str) -> User | None:
    with engine.connect() as conn:
        query = sa.select(users).where(users.c.oidc_subject == subject)
        row = conn.execute(query).mappings().first()
    return None if row is None else _row_to_user(row)


def _update(conn: sa.Connection, user_id: int, **values: object) -> bool:
    result = conn.execute(
        users.update().where(users.c.id == user_id).values(updated_us=now_us(), **values)
    )
    return result.rowcount == 1


def set_password_hash(conn: sa.Connection, user_id: int, password_hash: str | None) -> bool:
    return _update(conn, user_id, password_hash=password_hash)


def set_role(conn: sa.Connection, user_id: int, role: str) -> bool:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return _update(conn, user_id, role=role)


def set_reidentify(conn: sa.Connection, user_id: int, granted: bool) -> bool:
    return _update(conn, user_id, reidentify=granted)


def set_active(conn: sa.Connection, user_id: int, active: bool) -> bool:
    """Enable or disable; disabling also ends the user's sessions (tokens stop by the join)."""
    if not active:
        conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    return _update(conn, user_id, active=active)


def end_sessions(conn: sa.Connection, user_id: int, *, keep: str | None = None) -> None:
    """End the user's sessions, except the one whose cookie token is `keep`."""
    query = sessions.delete().where(sessions.c.user_id == user_id)
    if keep is not None:
        query = query.where(sessions.c.token_hash != digest(keep))
    conn.execute(query)


def mark_login(engine: sa.Engine, user_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(last_login_us=now_us()))


# --- The second factor.


def set_totp(conn: sa.Connection, user_id: int, sealed_secret: str | None) -> bool:
    """Switch TOTP on with a sealed secret, or off with None; either forgets the last step."""
    return _update(conn, user_id, totp_secret=sealed_secret, totp_last_step=None)


def totp_secret(engine: sa.Engine, user_id: int) -> str | None:
    """The user's sealed TOTP secret, or None without TOTP."""
    with engine.connect() as conn:
        query = sa.select(users.c.totp_secret).where(users.c.id == user_id)
        found: str | None = conn.execute(query).scalar_one_or_none()
    return found


def accept_totp_step(engine: sa.Engine, user_id: int, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) was used already. One UPDATE,
    so two requests with the same code cannot both win."""
    with engine.begin() as conn:
        result = conn.execute(
            users.update()
            .where(
                users.c.id == user_id,
                sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
    return result.rowcount == 1


# --- Personal API tokens.


class TokenInfo(NamedTuple):
    id: int
    name: str
    created_us: int
    last_used_us: int | None
    expires_us: int | None


def list_tokens(engine: sa.Engine, user_id: int) -> list[TokenInfo]:
    """The user's tokens that are not revoked, newest first."""
    query = (
        sa.select(
            api_tokens.c.id,
            api_tokens.c.name,
            api_tokens.c.created_us,
            api_tokens.c.last_used_us,
            api_tokens.c.expires_us,
        )
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_us.is_(None))
        .order_by(api_tokens.c.created_us.desc(), api_tokens.c.id.desc())
    )
    with engine.connect() as conn:
        return [TokenInfo(*row) for row in conn.execute(query)]


def revoke_token(conn: sa.Connection, user_id: int, token_id: int) -> bool:
    """Revoke the user's token `token_id`; False when there is no such live token."""
    result = conn.execute(
        api_tokens.update()
        .where(
            api_tokens.c.id == token_id,
            api_tokens.c.user_id == user_id,
            api_tokens.c.revoked_us.is_(None),
        )
        .values(revoked_us=now_us())
    )
    return result.rowcount == 1


def link_subject(conn: sa.Connection, user_id: int, subject: str) -> bool:
    """Tie a user without an OIDC subject to `subject` (their first single sign-on)."""
    result = conn.execute(
        users.update()
        .where(users.c.id == user_id, users.c.oidc_subject.is_(None))
        .values(oidc_subject=subject, updated_us=now_us())
    )
    return result.rowcount == 1
