"""Verification findings: EXIF time and place against the report's claims and the call's
incident, missing metadata said neutrally, content credentials, videos."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from stadspuls.cases.places import distance_km
from stadspuls.cases.records import Call, Case, MediaItem
from stadspuls.media import verify
from stadspuls.media.intake import MediaIntake
from stadspuls.settings import Settings
from stadspuls.store import calls
from tests.media.conftest import accept
from tests.media.inbox import actor, desk
from tests.media.photos import jpeg, mp4_head, png, scene

# Utrecht Centraal, and a fire there on Saturday 28 November 2026 at 14:00 UTC (15:00 local).
STATION = (52.0894, 5.1101)
INCIDENT = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
DAM = (52.3731, 4.8922)  # Amsterdam, 35 km away


def _findings(
    engine: sa.Engine, settings: Settings, intake: MediaIntake, data: bytes, **claims: object
) -> dict[str, verify.Finding]:
    inbox = desk(engine, settings, "ann")
    assert inbox.department.id is not None
    with engine.begin() as conn:
        if calls.by_slug(conn, "brand-station") is None:
            calls.save(
                conn,
                Call(
                    slug="brand-station",
                    title="Getuigen gezocht: brand station",
                    department_id=inbox.department.id,
                    starts_at=INCIDENT,
                    lat=STATION[0],
                    lon=STATION[1],
                    incident_at=INCIDENT,
                ),
            )
    case_id = inbox.receive(accept(intake, data), call_slug="brand-station", **claims)  # type: ignore[arg-type]
    view = inbox.service.view(actor(engine, "ann"), case_id)
    assert view.call is not None
    with engine.connect() as conn:
        found = verify.findings(conn, view.media[0], case=view.case, call=view.call)
    kinds = [f.kind for f in found]
    assert len(kinds) == len(set(kinds))
    return {f.kind: f for f in found}


def test_a_photo_that_fits_its_claims(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    data = jpeg(scene(60), taken="2026:11:28 15:10:00", offset="+01:00", gps=(52.0900, 5.1110))
    found = _findings(
        engine,
        settings,
        intake,
        data,
        occurred_at=INCIDENT + timedelta(minutes=5),
        lat=STATION[0],
        lon=STATION[1],
    )
    assert found["exif_time"].severity == "info"
    assert found["exif_time"].nl == (
        "Opnametijd (28 november 2026 15:10) past bij de opgegeven tijd (5 minuten verschil)."
    )
    assert found["exif_time"].values["hours_apart"] == round(5 / 60, 2)
    assert found["exif_time_incident"].severity == "info"
    assert found["gps_claim"].severity == "info"
    assert found["gps_claim"].nl == "GPS-positie ligt 0,1 km van de opgegeven plek."
    assert found["gps_incident"].severity == "info"
    assert found["c2pa_missing"].severity == "info"
    assert "seen_before" not in found
    assert "exif_missing" not in found


def test_a_photo_taken_days_before_and_far_away_is_flagged(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    data = jpeg(scene(61), taken="2026:11:25 12:00:00", offset="+01:00", gps=DAM)
    found = _findings(
        engine,
        settings,
        intake,
        data,
        occurred_at=INCIDENT,
        lat=STATION[0],
        lon=STATION[1],
    )
    time_finding = found["exif_time"]
    assert time_finding.severity == "warn"
    assert time_finding.nl == (
        "Opnametijd (25 november 2026 12:00) ligt 3 dagen vóór de opgegeven tijd."
    )
    assert (
        time_finding.en == "Capture time (25 November 2026 12:00) is 3 days before the time given."
    )
    assert time_finding.values["hours_apart"] == -75.0
    place = found["gps_incident"]
    assert place.severity == "warn"
    assert 34 < float(place.values["km"] or 0) < 37
    assert place.nl.startswith("GPS-positie ligt 3")
    assert place.nl.endswith(" km van het incident.")


def test_a_photo_without_metadata_is_said_neutrally(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    found = _findings(engine, settings, intake, png(scene(62, (640, 480))), occurred_at=INCIDENT)
    missing = found["exif_missing"]
    assert missing.severity == "info"
    assert "WhatsApp" in missing.nl
    assert "says nothing about authenticity" in missing.en
    assert "exif_time" not in found
    assert "gps_claim" not in found


def test_a_capture_time_after_receipt_is_flagged(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y:%m:%d %H:%M:%S")
    found = _findings(engine, settings, intake, jpeg(scene(63), taken=future, offset="+00:00"))
    assert found["exif_time_future"].severity == "warn"
    assert found["exif_time_future"].nl.startswith("Opnametijd ligt 3 dagen na ontvangst")


def test_a_video_says_what_was_not_checked(
    engine: sa.Engine, settings: Settings, intake: MediaIntake
) -> None:
    found = _findings(engine, settings, intake, mp4_head())
    assert found["video"].severity == "info"
    assert "exif_missing" not in found


def _item(c2pa: dict[str, object] | None) -> tuple[MediaItem, Case]:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    item = MediaItem(
        id=1,
        case_id=1,
        sha256="0" * 64,
        size=1,
        content_type="image/jpeg",
        received_at=now,
        c2pa=None if c2pa is None else json.dumps(c2pa),
    )
    case = Case(
        id=1,
        reference="SP-2026-000001",
        channel="web",
        kind="tip",
        state="new",
        department_id=1,
        text="",
        created_at=now,
        updated_at=now,
    )
    return item, case


def test_content_credentials_are_summarised(engine: sa.Engine) -> None:
    valid, case = _item(
        {
            "issuer": "Nederlandse Omroep Stichting",
            "claim_generator": "Leica M11-P",
            "validation_state": "Trusted",
            "valid": True,
            "trusted": True,
        }
    )
    broken, _ = _item(
        {"issuer": "Adobe", "claim_generator": "Photoshop", "validation_state": "Invalid"}
    )
    with engine.connect() as conn:
        (good,) = [f for f in verify.findings(conn, valid, case=case) if f.kind == "c2pa"]
        (bad,) = [f for f in verify.findings(conn, broken, case=case) if f.kind == "c2pa"]
    assert good.severity == "info"
    assert good.nl == (
        "Content credentials (C2PA) van Nederlandse Omroep Stichting, gemaakt met Leica M11-P: "
        "geldig."
    )
    assert bad.severity == "warn"
    assert "na ondertekening gewijzigd" in bad.nl
    assert bad.values["valid"] is False


def test_durations_and_distances_in_words() -> None:
    assert verify.span(timedelta(minutes=1)) == ("1 minuut", "1 minute")
    assert verify.span(timedelta(hours=-5)) == ("5 uur", "5 hours")
    assert verify.span(timedelta(days=12, hours=3)) == ("12 dagen", "12 days")
    assert round(distance_km(*STATION, *DAM)) == 35
