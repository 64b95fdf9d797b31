from __future__ import annotations

import pyotp
import pytest

from stadspuls.access import totp
from stadspuls.sealed import Sealer, SealError

NOW = 1_800_000_015.0  # 15 s into a step


def test_codes_of_the_step_before_now_and_after_are_accepted() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32
    code = pyotp.TOTP(secret)
    step = int(NOW // 30)
    assert totp.matching_step(secret, code.at(NOW), NOW) == step
    assert totp.matching_step(secret, code.at(NOW - 30), NOW) == step - 1
    assert totp.matching_step(secret, code.at(NOW + 30), NOW) == step + 1
    assert totp.matching_step(secret, code.at(NOW - 60), NOW) is None
    assert totp.matching_step(secret, code.at(NOW + 60), NOW) is None


@pytest.mark.parametrize("typed", ["12345", "1234567", "abcdef", "", "12 34 5"])
def test_malformed_codes_never_match(typed: str) -> None:
    assert totp.matching_step(totp.new_secret(), typed, NOW) is None


def test_spaces_in_a_code_are_ignored() -> None:
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", NOW) == int(NOW // 30)


def test_secret_is_sealed_for_one_user() -> None:
    sealer = Sealer(bytes(range(32)))
    secret = totp.new_secret()
    sealed = totp.seal(sealer, 7, secret)
    assert secret not in sealed
    assert totp.unseal(sealer, 7, sealed) == secret
    with pytest.raises(SealError):
        totp.unseal(sealer, 8, sealed)


def test_qr_code_carries_the_provisioning_uri() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "anna@gemeente.nl")
    assert uri == (
        "otpauth://totp/Stadspuls:anna%40gemeente.nl?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Stadspuls"
    )
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg")
    assert "<path" in svg
