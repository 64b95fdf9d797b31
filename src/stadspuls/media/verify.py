"""Verification aids for one photo or video: what its own metadata, its content credentials and
its perceptual hash say against what the report claims.

These are aids for a person, never verdicts: a photo without EXIF is normal (messengers strip
it), a camera clock can be wrong, and a photo seen before may be the sender's own post. So the
findings say what was found, in numbers, with a severity of "info" or "warn" ("look at this"),
in Dutch and English.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa

from stadspuls.cases.places import distance_km
from stadspuls.cases.records import Call, Case, MediaItem
from stadspuls.media import phash
from stadspuls.store import media as store
from stadspuls.store.schema import media_seen

LOCAL = ZoneInfo("Europe/Amsterdam")
# Within an hour of the claimed time counts as agreeing: people round times they report.
TIME_AGREES = timedelta(hours=1)
# Within 1 km of the claimed point counts as agreeing: a point picked on a map of a town is
# rarely closer, and phone GPS indoors is off by hundreds of metres.
PLACE_AGREES_KM = 1.0
# Camera clocks run late or early by minutes; a capture "after" receipt beyond this is odd.
CLOCK_SLACK = timedelta(minutes=10)

Severity = Literal["info", "warn"]
Value = str | int | float | bool | None


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # "exif_missing", "exif_time", "gps_claim", "gps_incident", "c2pa", ...
    severity: Severity
    nl: str
    en: str
    values: dict[str, Value] = {}


_MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def when_nl(moment: datetime) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local.day} {_MONTHS_NL[local.month - 1]} {local.year} {local:%H:%M}"


def when_en(moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime("%-d %B %Y %H:%M")


def span(delta: timedelta) -> tuple[str, str]:
    """A duration in words: "3 dagen" / "3 days", "5 uur" / "5 hours", "12 minuten"."""
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86400:
        days = round(seconds / 86400)
        return f"{days} dagen", f"{days} days"
    if seconds >= 2 * 3600:
        hours = round(seconds / 3600)
        return f"{hours} uur", f"{hours} hours"
    minutes = max(1, round(seconds / 60)) if seconds else 0
    return (
        (f"{minutes} minuten", f"{minutes} minutes") if minutes != 1 else ("1 minuut", "1 minute")
    )


def km_text(km: float) -> str:
    return f"{km:.1f}".replace(".", ",") if km < 10 else f"{km:.0f}"


def findings(
    conn: sa.Connection, item: MediaItem, *, case: Case, call: Call | None = None
) -> list[Finding]:
    """Everything the aids found for `item` of `case` (and the call it answers, if any)."""
    found: list[Finding] = []
    if item.content_type.startswith("video/"):
        found.append(
            Finding(
                kind="video",
                severity="info",
                nl="Video: alleen het bestandstype is gecontroleerd (geen opnametijd, plaats of "
                "beeldvergelijking).",
                en="Video: only the file type was checked (no capture time, place or image "
                "comparison).",
            )
        )
    else:
        found.extend(_metadata(item, case, call))
    found.extend(_credentials(item))
    found.extend(_earlier(conn, item))
    found.extend(_seen_online(conn, item))
    return found


def _metadata(item: MediaItem, case: Case, call: Call | None) -> list[Finding]:
    if item.taken_at is None and item.lat is None:
        return [
            Finding(
                kind="exif_missing",
                severity="info",
                nl="Geen opnametijd of plaats in het bestand. Dat is gewoon bij foto's die via "
                "WhatsApp, Signal of sociale media zijn gegaan, en zegt niets over echtheid.",
                en="No capture time or place in the file. That is normal for photos sent through "
                "WhatsApp, Signal or social media, and says nothing about authenticity.",
            )
        ]
    found: list[Finding] = []
    if item.taken_at is not None:
        found.extend(_times(item, item.taken_at, case, call))
    if item.lat is not None and item.lon is not None:
        found.extend(_places(item.lat, item.lon, case, call))
    else:
        found.append(
            Finding(
                kind="gps_missing",
                severity="info",
                nl="Geen GPS-positie in het bestand.",
                en="No GPS position in the file.",
            )
        )
    return found


def _compare_time(
    kind: str, taken: datetime, claimed: datetime, what_nl: str, what_en: str
) -> Finding:
    delta = taken - claimed
    words_nl, words_en = span(delta)
    values: dict[str, Value] = {
        "taken_at": taken.isoformat(),
        "claimed_at": claimed.isoformat(),
        "hours_apart": round(delta.total_seconds() / 3600, 2),
    }
    if abs(delta) <= TIME_AGREES:
        return Finding(
            kind=kind,
            severity="info",
            nl=f"Opnametijd ({when_nl(taken)}) past bij {what_nl} ({words_nl} verschil).",
            en=f"Capture time ({when_en(taken)}) fits {what_en} ({words_en} apart).",
            values=values,
        )
    side_nl, side_en = ("vóór", "before") if delta < timedelta(0) else ("na", "after")
    return Finding(
        kind=kind,
        severity="warn",
        nl=f"Opnametijd ({when_nl(taken)}) ligt {words_nl} {side_nl} {what_nl}.",
        en=f"Capture time ({when_en(taken)}) is {words_en} {side_en} {what_en}.",
        values=values,
    )


def _times(item: MediaItem, taken: datetime, case: Case, call: Call | None) -> list[Finding]:
    found: list[Finding] = []
    if case.occurred_at is not None:
        found.append(
            _compare_time(
                "exif_time", taken, case.occurred_at, "de opgegeven tijd", "the time given"
            )
        )
    if call is not None and call.incident_at is not None:
        found.append(
            _compare_time(
                "exif_time_incident", taken, call.incident_at, "het incident", "the incident"
            )
        )
    if taken - item.received_at > CLOCK_SLACK:
        words_nl, words_en = span(taken - item.received_at)
        found.append(
            Finding(
                kind="exif_time_future",
                severity="warn",
                nl=f"Opnametijd ligt {words_nl} na ontvangst: de klok van de camera staat "
                "verkeerd, of de gegevens zijn bewerkt.",
                en=f"Capture time is {words_en} after receipt: the camera's clock is wrong, or "
                "the metadata was edited.",
                values={"taken_at": taken.isoformat()},
            )
        )
    if not found:
        found.append(
            Finding(
                kind="exif_time",
                severity="info",
                nl=f"Opnametijd volgens het bestand: {when_nl(taken)}.",
                en=f"Capture time according to the file: {when_en(taken)}.",
                values={"taken_at": taken.isoformat()},
            )
        )
    return found


def _compare_place(
    kind: str, lat: float, lon: float, other: tuple[float, float], what_nl: str, what_en: str
) -> Finding:
    km = distance_km(lat, lon, *other)
    values: dict[str, Value] = {"lat": lat, "lon": lon, "km": round(km, 3)}
    agrees = km <= PLACE_AGREES_KM
    return Finding(
        kind=kind,
        severity="info" if agrees else "warn",
        nl=f"GPS-positie ligt {km_text(km)} km van {what_nl}.",
        en=f"GPS position is {km:.1f} km from {what_en}.",
        values=values,
    )


def _places(lat: float, lon: float, case: Case, call: Call | None) -> list[Finding]:
    found: list[Finding] = []
    if case.lat is not None and case.lon is not None:
        found.append(
            _compare_place(
                "gps_claim", lat, lon, (case.lat, case.lon), "de opgegeven plek", "the place given"
            )
        )
    if call is not None and call.lat is not None and call.lon is not None:
        found.append(
            _compare_place(
                "gps_incident", lat, lon, (call.lat, call.lon), "het incident", "the incident"
            )
        )
    if not found:
        found.append(
            Finding(
                kind="gps",
                severity="info",
                nl=f"GPS-positie volgens het bestand: {lat:.5f}, {lon:.5f}.",
                en=f"GPS position according to the file: {lat:.5f}, {lon:.5f}.",
                values={"lat": lat, "lon": lon},
            )
        )
    return found


def _credentials(item: MediaItem) -> list[Finding]:
    if not item.c2pa:
        return [
            Finding(
                kind="c2pa_missing",
                severity="info",
                nl="Geen content credentials (C2PA). De meeste telefoons zetten die nog niet.",
                en="No content credentials (C2PA). Most phones do not add them yet.",
            )
        ]
    try:
        summary = json.loads(item.c2pa)
    except ValueError:
        return []
    issuer = summary.get("issuer") or "onbekend"
    generator = summary.get("claim_generator") or "onbekend"
    values: dict[str, Value] = {
        "issuer": summary.get("issuer"),
        "claim_generator": summary.get("claim_generator"),
        "validation_state": summary.get("validation_state"),
        "valid": bool(summary.get("valid")),
    }
    if summary.get("valid"):
        trusted = bool(summary.get("trusted"))
        values["trusted"] = trusted
        return [
            Finding(
                kind="c2pa",
                severity="info",
                nl=f"Content credentials (C2PA) van {issuer}, gemaakt met {generator}: geldig"
                + (
                    "."
                    if trusted
                    else " (de ondertekenaar staat niet op de C2PA-vertrouwenslijst)."
                ),
                en=f"Content credentials (C2PA) from {issuer}, made with {generator}: valid"
                + ("." if trusted else " (the signer is not on the C2PA trust list)."),
                values=values,
            )
        ]
    return [
        Finding(
            kind="c2pa",
            severity="warn",
            nl=f"Content credentials (C2PA) van {issuer}, gemaakt met {generator}, maar ze "
            "kloppen niet: het bestand is na ondertekening gewijzigd, of de handtekening is "
            "ongeldig.",
            en=f"Content credentials (C2PA) from {issuer}, made with {generator}, but they do "
            "not validate: the file changed after signing, or the signature is invalid.",
            values=values,
        )
    ]


def _earlier(conn: sa.Connection, item: MediaItem) -> list[Finding]:
    earlier = store.earlier_like(conn, item)
    if not earlier.count or earlier.first_at is None:
        return []
    return [
        Finding(
            kind="seen_before",
            severity="warn",
            nl=f"{earlier.count} keer eerder ontvangen (in {earlier.cases} andere "
            f"melding{'en' if earlier.cases != 1 else ''}), eerst op {when_nl(earlier.first_at)}.",
            en=f"Received {earlier.count} time{'s' if earlier.count != 1 else ''} before (in "
            f"{earlier.cases} other report{'s' if earlier.cases != 1 else ''}), first on "
            f"{when_en(earlier.first_at)}.",
            values={
                "count": earlier.count,
                "cases": earlier.cases,
                "first_at": earlier.first_at.isoformat(),
                "first_case_id": earlier.first_case_id,
            },
        )
    ]


_SOURCE_NAMES = {"bluesky": "Bluesky", "mastodon": "Mastodon", "rss": "een nieuwsfeed"}


def _seen_online(conn: sa.Connection, item: MediaItem) -> list[Finding]:
    if item.phash is None:
        return []
    index = phash.index_for(conn, media_seen)
    matches = index.near(item.phash)
    seen = store.seen_by_ids(conn, [match.id for match in matches[:200]])
    before = [one for one in seen if one.seen_at <= item.received_at]
    if not before:
        return []
    first = before[0]
    place = _SOURCE_NAMES.get(first.source, first.source)
    words_nl, words_en = span(item.received_at - first.seen_at)
    sources = sorted({one.source for one in before})
    return [
        Finding(
            kind="seen_online",
            severity="warn",
            nl=f"Eerder online gezien: op {place}, {words_nl} vóór deze melding "
            f"({len(before)} bericht{'en' if len(before) != 1 else ''}). Mogelijk hergebruikt.",
            en=f"Seen online before: on {place.replace('een nieuwsfeed', 'a news feed')}, "
            f"{words_en} before this report ({len(before)} post{'s' if len(before) != 1 else ''})."
            " Possibly recycled.",
            values={
                "posts": len(before),
                "first_seen_at": first.seen_at.isoformat(),
                "sources": ",".join(sources),
                "first_post_pk": first.post_pk,
            },
        )
    ]
