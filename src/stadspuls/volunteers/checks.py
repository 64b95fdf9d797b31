"""What a volunteer may enter, checked: a name, an e-mail address, skills, hours, channels and
a language; each refusal names its form field (VolunteerError)."""

from __future__ import annotations

import re

import msgspec

from stadspuls.store import volunteers as store
from stadspuls.volunteers.errors import VolunteerError
from stadspuls.volunteers.records import CHANNELS, SKILLS, WeeklySpan

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_encode = msgspec.json.Encoder().encode


def email(address: str) -> str:
    address = address.strip()
    if not _EMAIL.match(address) or len(address) > 254:
        raise VolunteerError("Dit is geen geldig e-mailadres.", field="email")
    return address


def name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise VolunteerError("Vul een naam of bijnaam in (hoogstens 100 tekens).", field="name")
    return name


def profile(
    skills: tuple[str, ...],
    availability: tuple[WeeklySpan, ...],
    channels: tuple[str, ...],
    lang: str,
) -> dict[str, object]:
    unknown = set(skills) - set(SKILLS)
    if unknown:
        raise VolunteerError(
            f"Onbekende vaardigheid: {', '.join(sorted(unknown))}.", field="skills"
        )
    if not channels or set(channels) - set(CHANNELS):
        raise VolunteerError("Kies hoe we je bereiken: web-push en/of e-mail.", field="channels")
    if any(not 0 <= span.weekday <= 6 for span in availability) or len(availability) > 50:
        raise VolunteerError("Deze beschikbaarheid klopt niet.", field="availability")
    if lang not in ("nl", "en"):
        raise VolunteerError("Kies Nederlands of Engels.", field="lang")
    return {
        "skills": store.skill_bits(skills),
        "availability": store.encode_spans(availability),
        "channels": _encode(tuple(dict.fromkeys(channels))).decode(),
        "lang": lang,
    }
