"""Where a volunteer lives or a call-out is: a point on the map, a 4-digit postcode or a place
name, resolved offline to a point inside the Netherlands (a CBS municipality contains it, or one
lies within `cases.places.NEAREST_KM`: the beach, the IJsselmeer shore)."""

from __future__ import annotations

import math

from stadspuls.cases.places import gazetteer
from stadspuls.volunteers.errors import VolunteerError
from stadspuls.volunteers.postcodes import normalise_postcode, postcodes
from stadspuls.volunteers.records import Location


def locate(
    *,
    lat: float | None = None,
    lon: float | None = None,
    postcode: str | None = None,
    place: str | None = None,
) -> Location:
    """Exactly one way: a point, a postcode or a place; else VolunteerError naming the field."""
    has_point = lat is not None or lon is not None
    postcode = (postcode or "").strip() or None
    place = (place or "").strip() or None
    given = sum((has_point, postcode is not None, place is not None))
    if given == 0:
        raise VolunteerError(
            "Kies een punt op de kaart, of vul een postcode of een plaatsnaam in.",
            field="location",
        )
    if given > 1:
        raise VolunteerError(
            "Geef één locatie: een punt op de kaart, een postcode of een plaatsnaam.",
            field="location",
        )
    if has_point:
        return _point(lat, lon)
    if postcode is not None:
        return _postcode(postcode)
    assert place is not None
    return _place(place)


def _inside(lat: float, lon: float, label: str, field: str) -> Location:
    found = gazetteer().at(lat, lon)
    if found is None:
        raise VolunteerError("Deze plek ligt niet in Nederland.", field=field)
    return Location(
        lat=lat, lon=lon, label=label, municipality_code=found.code, municipality=found.name
    )


def _point(lat: float | None, lon: float | None) -> Location:
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        raise VolunteerError("Een punt heeft een breedte- en een lengtegraad.", field="location")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise VolunteerError("Dit is geen punt op aarde.", field="location")
    return _inside(lat, lon, f"{lat:.4f}, {lon:.4f}", "location")


def _postcode(text: str) -> Location:
    pc4 = normalise_postcode(text)
    if pc4 is None:
        raise VolunteerError(
            "Een postcode heeft vier cijfers, eventueel met twee letters: 3511 of 3511 AB.",
            field="postcode",
        )
    point = postcodes().postcode(pc4)
    if point is None:
        raise VolunteerError(f"Postcode {pc4} kennen we niet.", field="postcode")
    return _inside(point.lat, point.lon, f"{pc4} {point.place}", "postcode")


def _place(text: str) -> Location:
    if len(text) > 100:
        raise VolunteerError("Die plaatsnaam is te lang.", field="place")
    point = postcodes().place(text)
    if point is None:
        raise VolunteerError(f"De plaats {text!r} kennen we niet.", field="place")
    return _inside(point.lat, point.lon, point.place, "place")
