"""C2PA content credentials read from a signed photo at intake, and a tampered one found out."""

from __future__ import annotations

import json

from stadspuls.media.intake import MediaIntake
from tests.media.conftest import accept
from tests.media.photos import jpeg, scene
from tests.media.signing import sign_jpeg


def test_credentials_of_a_signed_photo_are_summarised(intake: MediaIntake) -> None:
    signed = sign_jpeg(jpeg(scene(70, (640, 480))))
    taken = accept(intake, signed, "brand.jpg")
    assert taken.c2pa is not None
    summary = json.loads(taken.c2pa)
    assert summary["issuer"] == "Stadspuls Test"
    assert summary["claim_generator"] == "Stadspuls testcamera 1.0"
    assert summary["actions"] == ["c2pa.created"]
    assert summary["validation_state"] == "Valid"
    assert summary["valid"] is True
    # Our test CA is on no trust list: valid, not trusted.
    assert summary["trusted"] is False


def test_a_photo_changed_after_signing_does_not_validate(intake: MediaIntake) -> None:
    signed = bytearray(sign_jpeg(jpeg(scene(71, (640, 480)))))
    # Flip bits in the entropy-coded pixels near the end (before the EOI marker).
    for offset in range(len(signed) - 400, len(signed) - 300):
        signed[offset] ^= 0x01 if signed[offset] not in (0xFE, 0xFF, 0x00) else 0
    taken = accept(intake, bytes(signed), "bewerkt.jpg")
    assert taken.c2pa is not None
    summary = json.loads(taken.c2pa)
    assert summary["valid"] is False
    assert summary["validation_state"] == "Invalid"
    assert any("mismatch" in failure for failure in summary["failures"])


def test_the_finding_says_valid_but_not_on_the_trust_list(intake: MediaIntake) -> None:
    from stadspuls.cases.records import MediaItem
    from stadspuls.media import verify

    taken = accept(intake, sign_jpeg(jpeg(scene(72, (640, 480)))))
    item = MediaItem(id=1, case_id=1, **{k: getattr(taken, k) for k in taken.__struct_fields__})
    (found,) = verify._credentials(item)
    assert found.severity == "info"
    assert found.nl == (
        "Content credentials (C2PA) van Stadspuls Test, gemaakt met Stadspuls testcamera 1.0: "
        "geldig (de ondertekenaar staat niet op de C2PA-vertrouwenslijst)."
    )
    assert found.values["trusted"] is False
