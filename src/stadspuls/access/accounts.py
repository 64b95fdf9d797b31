"""Changes to accounts, each written to the audit log in the same transaction: the one door
that the `stadspuls user` commands, the account page and the users admin page all go through.
"""

from __future__ import annotations

import contextlib
import re

import sqlalchemy as sa

from stadspuls.access import passwords
from stadspuls.records import ROLES, Actor, User
from stadspuls.store import audit
from stadspuls.store import users as store

# Letters, digits and . _ @ + - : a login name, an e-mail address or an OIDC user name.
_USERNAME = re.compile(r"^[\w.@+-]{1,200}$")


class AccountError(ValueError):
    """A change that cannot be made; the message says why."""


class BadUsername(AccountError):
    pass


class NameTaken(AccountError):
    pass


class PasswordRejected(AccountError):
    pass


class NoSuchUser(AccountError):
    pass


class LastAdmin(AccountError):
    pass


def check_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise BadUsername(
            "a user name has 1 to 200 letters, digits or . _ @ + - (no spaces): "
            f"{username!r} does not"
        )
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def _audit(
    conn: sa.Connection, actor: Actor, action: str, user: User, **details: str | bool | None
) -> None:
    audit.record_action(
        conn, actor, action, details={"user": user.username, "user_id": user.id, **details}
    )


def add_user(
    engine: sa.Engine,
    actor: Actor,
    username: str,
    role: str,
    *,
    password: str | None,
    reidentify: bool = False,
    display_name: str = "",
    oidc_subject: str | None = None,
) -> User:
    """A new user; `password` None makes an account that logs in only through OIDC."""
    check_username(username)
    check_role(role)
    try:
        password_hash = None if password is None else passwords.hash_password(password)
    except passwords.WeakPassword as error:
        raise PasswordRejected(str(error)) from error
    try:
        user = store.create_user(
            engine,
            User(
                username=username,
                display_name=display_name.strip()[:200],
                role=role,
                reidentify=reidentify,
                oidc_subject=oidc_subject,
            ),
            password_hash=password_hash,
        )
    except store.UserExists as error:
        raise NameTaken(str(error)) from error
    with engine.begin() as conn:
        _audit(
            conn,
            actor,
            "user.add",
            user,
            role=role,
            reidentify=reidentify,
            login="password" if password is not None else "oidc",
        )
    return user


def _user(engine: sa.Engine, username_or_id: str | int) -> User:
    if isinstance(username_or_id, int):
        found = store.get_user(engine, username_or_id)
    else:
        found = store.find_user(engine, username_or_id)
    if found is None or found.id is None:
        raise NoSuchUser(f"no user {username_or_id!r}")
    return found


def set_password(
    engine: sa.Engine, actor: Actor, who: str | int, password: str, *, keep_session: str | None
) -> User:
    """Set a new password and end the user's other sessions (`keep_session`: the cookie token
    of the session that made the change, when the user changes their own)."""
    user = _user(engine, who)
    assert user.id is not None
    try:
        new_hash = passwords.hash_password(password)
    except passwords.WeakPassword as error:
        raise PasswordRejected(str(error)) from error
    with engine.begin() as conn:
        store.set_password_hash(conn, user.id, new_hash)
        store.end_sessions(conn, user.id, keep=keep_session)
        _audit(conn, actor, "user.passwd", user)
    return user


def set_role(engine: sa.Engine, actor: Actor, who: str | int, role: str) -> User:
    user = _user(engine, who)
    assert user.id is not None
    check_role(role)
    _keep_an_admin(engine, user, role=role)
    with engine.begin() as conn:
        store.set_role(conn, user.id, role)
        _audit(conn, actor, "user.role", user, role=role, was=user.role)
    return _user(engine, user.id)


def set_reidentify(engine: sa.Engine, actor: Actor, who: str | int, granted: bool) -> User:
    user = _user(engine, who)
    assert user.id is not None
    with engine.begin() as conn:
        store.set_reidentify(conn, user.id, granted)
        _audit(conn, actor, "user.reidentify", user, granted=granted)
    return _user(engine, user.id)


def set_active(engine: sa.Engine, actor: Actor, who: str | int, active: bool) -> User:
    """Enable or disable an account; a disabled one's sessions end and tokens stop working."""
    user = _user(engine, who)
    assert user.id is not None
    if not active:
        _keep_an_admin(engine, user, active=False)
    with engine.begin() as conn:
        store.set_active(conn, user.id, active)
        _audit(conn, actor, "user.enable" if active else "user.disable", user)
    return _user(engine, user.id)


def _keep_an_admin(
    engine: sa.Engine, user: User, *, role: str | None = None, active: bool = True
) -> None:
    """Refuse the change that would leave no active admin: nobody could then undo it in the UI
    (the command line still could)."""
    if user.role != "admin" or not user.active or (role == "admin" and active):
        return
    others = [u for u in store.list_users(engine) if u.role == "admin" and u.active]
    if all(u.id == user.id for u in others):
        raise LastAdmin(f"{user.username} is the last active admin")


def enable_totp(engine: sa.Engine, actor: Actor, user_id: int, sealed_secret: str) -> None:
    user = _user(engine, user_id)
    with engine.begin() as conn:
        store.set_totp(conn, user_id, sealed_secret)
        _audit(conn, actor, "user.totp", user, enabled=True)


def reset_totp(engine: sa.Engine, actor: Actor, who: str | int) -> User:
    """Switch the second factor off (a lost phone); the user sets it up again."""
    user = _user(engine, who)
    assert user.id is not None
    with engine.begin() as conn:
        store.set_totp(conn, user.id, None)
        _audit(conn, actor, "user.totp", user, enabled=False)
    return user


def add_token(engine: sa.Engine, actor: Actor, who: str | int, name: str) -> str:
    """A new personal API token for the user; its secret is returned once."""
    user = _user(engine, who)
    assert user.id is not None
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("a token needs a name (at most 200 characters) to recognise it by")
    token = store.create_token(engine, user.id, name)
    with engine.begin() as conn:
        _audit(conn, actor, "token.add", user, token=name)
    return token


def revoke_token(engine: sa.Engine, actor: Actor, who: str | int, token_id: int) -> None:
    user = _user(engine, who)
    assert user.id is not None
    with engine.begin() as conn:
        if not store.revoke_token(conn, user.id, token_id):
            raise AccountError(f"{user.username} has no live token {token_id}")
        _audit(conn, actor, "token.revoke", user, token_id=str(token_id))


def first_run_hint(engine: sa.Engine) -> str | None:
    """How to create the first admin, while no user exists (there is no default password)."""
    if store.count_users(engine):
        return None
    return (
        "No user exists yet: create the first admin with\n"
        "    stadspuls user add NAME --role admin\n"
        "(it asks for a password of at least 12 characters), then log in at /login."
    )


# Changes made because an OIDC provider said so are audited under this name.
OIDC_ACTOR = Actor(user_id=None, username="oidc", role="admin", via="system")


def user_for_oidc(
    engine: sa.Engine,
    subject: str,
    username: str,
    *,
    display_name: str,
    role: str | None,
    default_role: str,
) -> User:
    """The user the provider vouched for: found by subject; else an account an admin added
    for single sign-on only (no password, same name), now tied to the subject; else a new
    one. A password account of the same name is never taken over: the login is refused."""
    found = store.find_user_by_subject(engine, subject)
    if found is None:
        same_name = store.credentials(engine, username)
        if same_name is not None:
            user, password_hash = same_name
            if password_hash is not None or user.oidc_subject is not None or user.id is None:
                raise NameTaken(f"a user {username!r} exists already and is not single sign-on")
            with engine.begin() as conn:
                store.link_subject(conn, user.id, subject)
                _audit(conn, OIDC_ACTOR, "user.link", user, subject=subject)
            found = _user(engine, user.id)
        else:
            return add_user(
                engine,
                OIDC_ACTOR,
                check_username(username),
                role or default_role,
                password=None,
                display_name=display_name,
                oidc_subject=subject,
            )
    if role is not None and role != found.role and found.active and found.id is not None:
        # The provider's role claim is the source of truth for its users (but the last
        # active admin stays one: nobody could manage users otherwise).
        with contextlib.suppress(LastAdmin):
            found = set_role(engine, OIDC_ACTOR, found.id, role)
    return found
