from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from stadspuls.access import passwords

PASSWORD = "correct horse battery staple"


def test_hash_is_argon2id_with_rfc_9106_parameters_and_verifies() -> None:
    stored = passwords.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify(stored, PASSWORD) == passwords.Verified(True, None)
    assert passwords.verify(stored, PASSWORD + " ") == passwords.Verified(False)
    assert passwords.hash_password(PASSWORD) != stored  # a fresh salt each time


def test_old_parameters_verify_and_are_rehashed() -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    old = cheap.hash(PASSWORD)
    result = passwords.verify(old, PASSWORD)
    assert result.ok
    assert result.rehashed is not None
    assert result.rehashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify(result.rehashed, PASSWORD) == passwords.Verified(True, None)
    assert not passwords.verify(old, "wrong").ok


@pytest.mark.parametrize("stored", [None, "", "plain text", "$argon2id$v=19$broken"])
def test_no_or_broken_hash_never_verifies(stored: str | None) -> None:
    assert passwords.verify(stored, PASSWORD) == passwords.Verified(False)
    assert passwords.verify(stored, "") == passwords.Verified(False)


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("", "at least 12 characters"),
        ("elevenchars", "at least 12 characters"),
        (" " * 20, "only spaces"),
        ("x" * 1025, "at most 1024"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(candidate: str, message: str) -> None:
    with pytest.raises(passwords.WeakPassword, match=message):
        passwords.hash_password(candidate)


def test_twelve_characters_are_enough() -> None:
    passwords.check_new("twelve chars")
