"""The volunteers' form as data: what a citizen typed (kept whole, to show again when something is
wrong), what is wrong with it (each error names its field), and the `Registration` or update it
becomes. No I/O: the routes read the request; the volunteer service makes the final checks (the
postcode table, the municipality shapes, the radius bounds) and its `VolunteerError.field` is
mapped here onto the input it is about.

Where they live is one text box and a point: a point (picked on the map or found by the phone)
wins; otherwise four digits are a postcode ("3511", "3511 AB") and anything else a place name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import time

import msgspec

from stadspuls.volunteers.errors import VolunteerError
from stadspuls.volunteers.records import CHANNELS, SKILLS, Registration, Volunteer, WeeklySpan
from stadspuls.web.routes.public_form import EMAIL, MAX_EMAIL, FieldError, clean

MAX_NAME = 100
MAX_WHERE = 100
# "3511", "3511 AB", and what the service shows back: "3511 Utrecht".
POSTCODE = re.compile(r"^\s*(\d{4})(?:\s*[A-Za-z]{2}\b)?(?:\s+\D.*)?\s*$")
# The label the service keeps for a point: "52.0907, 5.1214".
POINT_LABEL = re.compile(r"^\s*-?\d{1,2}\.\d+,\s*-?\d{1,3}\.\d+\s*$")
_SPAN = re.compile(r"^\s*(\d{1,2})[:.]?(\d{2})?\s*[-–]\s*(\d{1,2})[:.]?(\d{2})?\s*$")
WEEKDAYS = range(7)
# The service's field names for where someone lives, onto the one box of the form.
_WHERE_FIELDS = {"postcode", "place", "lat", "lon", "point", "location", "where"}
_RADIUS_FIELDS = {"radius", "radius_km"}

# Dutch labels are in the catalogue; these are the English source texts.
SKILL_LABELS = {
    "first_aid": "First aid",
    "cpr": "Resuscitation (CPR)",
    "aed": "Using an AED",
    "bhv": "Company emergency response (BHV)",
    "care": "Care (nurse, carer)",
    "car": "I have a car",
    "lifting": "Lifting and carrying",
    "languages": "Languages besides Dutch and English",
}
CHANNEL_LABELS = {"push": "A notification on this phone or computer", "email": "E-mail"}
WEEKDAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
assert set(SKILL_LABELS) == set(SKILLS)
assert set(CHANNEL_LABELS) == set(CHANNELS)


class VolunteerForm(msgspec.Struct, kw_only=True):
    """The fields as typed (strings), so that a form shown again holds exactly what was sent."""

    name: str = ""
    email: str = ""
    where: str = ""  # a postcode or a place name
    lat: str = ""
    lon: str = ""
    place: str = ""  # the municipality picked on the map (shown beside the point)
    radius_km: str = "5"
    skills: tuple[str, ...] = ()
    always: bool = True
    hours: tuple[str, ...] = ("",) * 7  # per weekday: "08:00-17:00, 19:00-23:00"
    channels: tuple[str, ...] = ("email",)
    consent: bool = False


def read_form(fields: Mapping[str, str], lists: Mapping[str, Sequence[str]]) -> VolunteerForm:
    """The posted form: single values in `fields`, checkbox groups in `lists`."""
    return VolunteerForm(
        name=clean(fields.get("name", ""), MAX_NAME),
        email=clean(fields.get("email", ""), MAX_EMAIL),
        where=clean(fields.get("where", ""), MAX_WHERE),
        lat=fields.get("lat", "").strip()[:32],
        lon=fields.get("lon", "").strip()[:32],
        place=clean(fields.get("place", ""), 100),
        radius_km=fields.get("radius_km", "").strip()[:16],
        skills=tuple(s for s in dict.fromkeys(lists.get("skills", ())) if s),
        always=fields.get("availability", "always") != "spans",
        hours=tuple(clean(fields.get(f"hours-{day}", ""), 200) for day in WEEKDAYS),
        channels=tuple(c for c in dict.fromkeys(lists.get("channels", ())) if c),
        consent=fields.get("consent") in ("1", "on", "yes"),
    )


def from_volunteer(volunteer: Volunteer) -> VolunteerForm:
    """A volunteer's own data as the form that changes it."""
    private = volunteer.private
    by_day: dict[int, list[str]] = {day: [] for day in WEEKDAYS}
    for span in volunteer.availability:
        by_day[span.weekday].append(f"{_clock(span.start)}-{_clock(span.end, end=True)}")
    point = private is not None and (
        not private.place_label or POINT_LABEL.match(private.place_label) is not None
    )
    return VolunteerForm(
        name="" if private is None else private.name,
        email="" if private is None else private.email,
        where="" if private is None or point else private.place_label,
        lat=f"{private.lat:.6f}" if private is not None and point else "",
        lon=f"{private.lon:.6f}" if private is not None and point else "",
        radius_km=f"{volunteer.radius_km:g}",
        skills=volunteer.skills,
        always=not volunteer.availability,
        hours=tuple(", ".join(by_day[day]) for day in WEEKDAYS),
        channels=volunteer.channels,
        consent=True,
    )


def _clock(value: time, *, end: bool = False) -> str:
    return "24:00" if end and value == time(0, 0) else value.strftime("%H:%M")


def point(form: VolunteerForm) -> tuple[float, float] | None:
    if not form.lat or not form.lon:
        return None
    try:
        lat, lon = float(form.lat), float(form.lon)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 6), round(lon, 6)


def radius(form: VolunteerForm) -> float | None:
    try:
        value = float(form.radius_km.replace(",", "."))
    except ValueError:
        return None
    return value if value == value else None  # NaN is no radius


def parse_hours(text: str, weekday: int) -> tuple[WeeklySpan, ...]:
    """ "08:00-17:00, 19-23" -> spans of one weekday; "24:00" as an end is midnight. Raises
    ValueError for anything else."""
    spans = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        match = _SPAN.match(part)
        if match is None:
            raise ValueError(part.strip())
        h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(part.strip())
        spans.append(WeeklySpan(weekday=weekday, start=time(h1, m1), end=time(h2, m2)))
    return tuple(spans)


def availability(form: VolunteerForm) -> tuple[WeeklySpan, ...]:
    if form.always:
        return ()
    spans: list[WeeklySpan] = []
    for day in WEEKDAYS:
        spans += parse_hours(form.hours[day], day)
    return tuple(spans)


def check(form: VolunteerForm, *, registering: bool = True) -> list[FieldError]:
    """What is wrong with the form, in the order of its fields (before the service's checks)."""
    errors: list[FieldError] = []
    if not form.name:
        errors.append(FieldError(field="name", message="Give a name or a nickname."))
    elif len(form.name) > MAX_NAME:
        errors.append(
            FieldError(
                field="name",
                message="Keep this under %(limit)s characters.",
                params={"limit": MAX_NAME},
            )
        )
    if registering and not form.email:
        errors.append(
            FieldError(field="email", message="Give your e-mail address: the link comes there.")
        )
    elif registering and (len(form.email) > MAX_EMAIL or not EMAIL.match(form.email)):
        errors.append(
            FieldError(field="email", message="This is not an e-mail address (name@example.nl).")
        )
    if (form.lat or form.lon) and point(form) is None:
        errors.append(FieldError(field="address", message="The point on the map is not valid."))
    elif point(form) is None and not form.where:
        errors.append(
            FieldError(field="address", message="Give a postcode, a place, or a point on the map.")
        )
    if radius(form) is None:
        errors.append(FieldError(field="radius_km", message="Give a distance in kilometres."))
    unknown = [s for s in form.skills if s not in SKILLS]
    if unknown:
        errors.append(FieldError(field="skills", message="Choose from the skills listed."))
    if not form.always:
        errors += _check_hours(form)
    if not form.channels or any(c not in CHANNELS for c in form.channels):
        errors.append(FieldError(field="channels", message="Choose at least one way to reach you."))
    if registering and not form.consent:
        errors.append(
            FieldError(
                field="consent",
                message="Tick that you agree: without it we store nothing.",
            )
        )
    return errors


def _check_hours(form: VolunteerForm) -> list[FieldError]:
    errors = []
    for day in WEEKDAYS:
        try:
            parse_hours(form.hours[day], day)
        except ValueError as error:
            errors.append(
                FieldError(
                    field=f"hours-{day}",
                    message="%(span)s is not a time span like 08:00-17:00.",
                    params={"span": str(error)},
                )
            )
    if not errors and not any(h.strip() for h in form.hours):
        errors.append(FieldError(field="hours-0", message="Give your hours on at least one day."))
    return errors


def where_kwargs(form: VolunteerForm) -> dict[str, float | str]:
    """How the service is to find the place: a point, a postcode or a place name."""
    found = point(form)
    if found is not None:
        return {"lat": found[0], "lon": found[1]}
    postcode = POSTCODE.match(form.where)
    if postcode is not None:
        return {"postcode": postcode.group(1)}
    return {"place": form.where}


def registration(form: VolunteerForm, *, lang: str) -> Registration:
    """The checked form as what the volunteer service receives."""
    where = where_kwargs(form)
    found = radius(form)
    return Registration(
        name=form.name,
        email=form.email,
        lat=float(where["lat"]) if "lat" in where else None,
        lon=float(where["lon"]) if "lon" in where else None,
        postcode=str(where["postcode"]) if "postcode" in where else None,
        place=str(where["place"]) if "place" in where else None,
        radius_km=5.0 if found is None else found,
        skills=form.skills,
        availability=availability(form),
        channels=form.channels,
        lang=lang,
        consent=form.consent,
    )


def service_error(error: VolunteerError) -> FieldError:
    """The service's refusal next to the input it is about."""
    field = error.field or "name"
    if field in _WHERE_FIELDS:
        field = "address"
    elif field in _RADIUS_FIELDS:
        field = "radius_km"
    elif field not in {"name", "email", "skills", "channels", "consent"}:
        field = "hours-0" if field.startswith("availab") else "name"
    return FieldError(field=field, message=str(error))
