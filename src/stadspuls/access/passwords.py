"""Passwords: argon2id with argon2-cffi's defaults (RFC 9106's recommended parameters).

A stored hash made with other parameters (an older default, a cheaper test setting) still
verifies and is replaced by a fresh one at the next successful login. There is no default
password: every account gets one chosen by a person, at least `MIN_LENGTH` characters long.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# NIST SP 800-63B asks for at least 8; 12 leaves room for a passphrase and costs a user little.
MIN_LENGTH = 12
# Longer than any passphrase; stops a megabyte "password" from costing the hasher anything.
MAX_LENGTH = 1024

_HASHER = PasswordHasher()


class WeakPassword(ValueError):
    """A new password that does not meet the rules; the message says which one."""


class Verified(NamedTuple):
    ok: bool
    rehashed: str | None = None  # a new hash to store when the old one's parameters are stale


def check_new(password: str) -> None:
    """Raise `WeakPassword` unless `password` may be set."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")
    if not password.strip():
        raise WeakPassword("a password cannot be only spaces")


def hash_password(password: str, hasher: PasswordHasher = _HASHER) -> str:
    """The argon2id hash of a new password (which must pass `check_new`)."""
    check_new(password)
    return hasher.hash(password)


def verify(stored: str | None, password: str, hasher: PasswordHasher = _HASHER) -> Verified:
    """Whether `password` matches the stored hash (None: no password, e.g. OIDC only)."""
    if stored is None:
        burn(password)  # an account without a password answers as slowly as one with
        return Verified(False)
    if len(password) > MAX_LENGTH:
        return Verified(False)
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return Verified(False)
    if hasher.check_needs_rehash(stored):
        return Verified(True, hasher.hash(password))
    return Verified(True)


def burn(password: str) -> None:
    """Spend the time a verification takes, for a user who does not exist: the answer to a
    login must not tell by its speed whether the name was right."""
    with contextlib.suppress(VerificationError):
        _HASHER.verify(_dummy_hash(), password[:MAX_LENGTH])


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("not a password of anyone, only a timing equaliser")
