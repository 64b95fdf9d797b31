"""The second factor: time-based one-time passwords (RFC 6238; any authenticator app).

The secret is stored sealed (`stadspuls.sealed`, bound to the user's id, so a sealed secret
cannot be moved to another account). A code is accepted in the step before, at, or after the
current one (±30 s of clock drift), and only once: the store keeps the last accepted step.
"""

from __future__ import annotations

import re

import pyotp
import segno

from stadspuls.sealed import Sealer

STEP_SECONDS = 30
ISSUER = "Stadspuls"
_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226 recommends at least 128)."""
    return pyotp.random_base32(32)


def context(user_id: int) -> str:
    return f"totp:{user_id}"


def seal(sealer: Sealer, user_id: int, secret: str) -> str:
    return sealer.seal(secret, context(user_id))


def unseal(sealer: Sealer, user_id: int, sealed: str) -> str:
    return sealer.open(sealed, context(user_id))


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (dark on light, as scanners expect), with a title."""
    code = segno.make(uri, error="m")
    svg: str = code.svg_inline(scale=5, border=4, dark="#000", light="#fff", title="QR")
    return svg


def normalise(code: str) -> str:
    # Apps show "123 456"; people paste it with the space.
    return re.sub(r"\s+", "", code)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (±1 around `now`) whose code is `code`, or None when none matches."""
    code = normalise(code)
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None
