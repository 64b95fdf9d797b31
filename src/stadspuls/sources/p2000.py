"""P2000: Dutch emergency-service pager messages, from P2000 sites' RSS feeds and from CSV logs.

One message is e.g. "P 1 BDH-01 Buitenbrand container Kerkstraat SGRAVH 157630": the priority,
(often) a dispatch code, the incident, the street and the place (the dispatch system prints many
places abbreviated: SGRAVH is 's-Gravenhage), and the capcodes (the pager addresses of the units
alerted). The capcodes say which units were paged, not what happened, so they are kept out of
the post text; they go to `Post.meta` with the service, priority, dispatch codes and place.
`parse_p2000` is shared by the live feed (`map_p2000_item`) and the CSV import (`p2000_csv`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import msgspec

from stadspuls.enrich.places import PlaceMatcher, load_table
from stadspuls.records import Place, Post
from stadspuls.sources.base import MappingError, native_id
from stadspuls.sources.markup import html_to_text
from stadspuls.sources.rss import entry_time

SOURCE = "p2000"
LANGUAGE = "nl"  # the services page in Dutch; the door trusts this (see enrich/language.py)
# The text of a page that carries capcodes only (a "tone-only" alert): the post needs a text, the
# capcodes stay out of it, and the words say, in the product's language, that nothing was sent.
NO_TEXT = "(oproep zonder tekst)"

# Capcodes are 6–7 digit pager addresses; some sites mask them partly ("170XXX-XXXXXX").
_CAPCODE = re.compile(r"\d{6,7}|\d{3}[\dX]{3,4}(?:-[\dX]+)?")
_PLAIN_CAPCODE = re.compile(r"\d{6,7}")  # at the start of a message: no masked ones seen there
# Inside a run of capcodes a few regions add 4–5 digit group codes ("159591 8802 8810 157140");
# a run must start with a real capcode, so a house number before it stays ("Dorpsweg 1234").
_SHORT_CODE = re.compile(r"\d{4,5}")
# "P 1", "P1", "PRIO 1", "Prio: 1", "Pr 1" (fire brigade, police); "A1", "A 2", "B1"
# (ambulance), but not a motorway at the start of a message ("A2 L 51,6 Almere").
_PRIORITY = re.compile(
    r"^\s*(?:OEFENING\s+)?(?:(?:PRIO|PR|P)\s?:?\s?([1-5])|([AB])\s?([12])(?!\s+(?:L|R|Re|Li)\b))\b",
    re.IGNORECASE,
)
# The safety region's dispatch code right after the priority: "P 1 BDH-01 …" (Haaglanden).
_REGION_CODE = re.compile(
    r"^(?:OEFENING\s+)?(?:(?:PRIO|PR|P|A|B)\s?:?\s?\d\s+)?([A-Z]{2,4})-\d{2}\b", re.IGNORECASE
)
# Dispatch codes: region/incident codes ("BDH-01", "(INCI-04)", "OEF-308"), automatic fire
# alarms ("OMS") and the short classifications some regions send ("BR woning", "DV Lift…").
_DISPATCH = re.compile(r"(?<![\w-])(?:[A-Z]{2,5}-\d{2,3}|OMS|(?:BR|DV|HV)\s+[^\W\d]+)(?![\w-])")
# A capcode and the unit it belongs to, one per line in many feeds' item descriptions.
_CAPCODE_LINE = re.compile(r"^\s*(\d{7})\b\s*(.*)$")
_SERVICES = frozenset({"brandweer", "ambulance", "politie", "knrm", "reddingsbrigade"})
# Place names as the dispatch system abbreviates them (GMS woonplaats codes), for the places in
# the real messages of Haaglanden and Rotterdam-Rijnmond (../shared/data/p2000), each checked
# against the streets named with it: code -> (place, a name the places table knows).
ABBREVIATIONS: dict[str, tuple[str, str]] = {
    "SGRAVH": ("'s-Gravenhage", "'s-Gravenhage"),
    "DHG": ("'s-Gravenhage", "'s-Gravenhage"),
    "ZOETMR": ("Zoetermeer", "Zoetermeer"),
    "RIJSZH": ("Rijswijk", "Rijswijk"),
    "VOORB": ("Voorburg", "Voorburg"),
    "LEIDDM": ("Leidschendam", "Leidschendam"),
    "ROTTDM": ("Rotterdam", "Rotterdam"),
    "WASSNR": ("Wassenaar", "Wassenaar"),
    "NOOTDP": ("Nootdorp", "Nootdorp"),
    "PIJNAK": ("Pijnacker", "Pijnacker"),
    "DELFGW": ("Delfgauw", "Pijnacker-Nootdorp"),
    "MONSTR": ("Monster", "Monster"),
    "WATERI": ("Wateringen", "Westland"),
    "HONSDK": ("Honselersdijk", "Honselersdijk"),
    "SGRAVZ": ("'s-Gravenzande", "'s-Gravenzande"),
    "NAALDW": ("Naaldwijk", "Naaldwijk"),
    "DELIER": ("De Lier", "De Lier"),
    "POELDK": ("Poeldijk", "Poeldijk"),
    "PDK": ("Poeldijk", "Poeldijk"),
    "DENHZH": ("Den Hoorn", "Midden-Delfland"),
    "SCHILD": ("Schipluiden", "Midden-Delfland"),
    "SCHIDM": ("Schiedam", "Schiedam"),
    "BARDRT": ("Barendrecht", "Barendrecht"),
    "CAPIJS": ("Capelle aan den IJssel", "Capelle aan den IJssel"),
    "LEKKKK": ("Lekkerkerk", "Krimpenerwaard"),
    "SPIJKN": ("Spijkenisse", "Spijkenisse"),
    "OGT": ("Oegstgeest", "Oegstgeest"),
    "VENL": ("Venlo", "Venlo"),
    "VENR": ("Venray", "Venray"),
}


@dataclass(frozen=True)
class P2000Message:
    text: str  # the message without capcodes
    priority: str | None  # "P1", "A2", "B1", …
    service: str | None  # "ambulance" when the priority says so (A/B); else unknown
    region_code: str | None  # e.g. "BDH" from "P 1 BDH-01 …"
    capcodes: tuple[str, ...]
    dispatch_codes: tuple[str, ...] = ()
    place: str | None = None  # the place named, written out ("'s-Gravenhage" for SGRAVH)
    municipality: Place | None = None  # the municipality it lies in, when the table knows it

    def places(self) -> tuple[Place, ...]:
        """The place for `Post.places`: the municipality, named as the message names the place
        (written out), so that `place:` filters find "SGRAVH" as 's-Gravenhage."""
        if self.municipality is None or self.place is None:
            return ()
        return (msgspec.structs.replace(self.municipality, name=self.place),)

    def meta(self) -> dict[str, str | list[str]]:
        """The parts for `Post.meta` (absent parts left out)."""
        meta: dict[str, str | list[str]] = {}
        if self.service:
            meta["service"] = self.service
        if self.priority:
            meta["priority"] = self.priority
        if self.capcodes:
            meta["capcodes"] = list(self.capcodes)
        if self.dispatch_codes:
            meta["dispatch_code"] = list(self.dispatch_codes)
        if self.place:
            meta["place"] = self.place
        if self.municipality:
            meta["municipality"] = self.municipality.municipality
            meta["municipality_code"] = self.municipality.code
        return meta


def _split_capcodes(words: list[str]) -> tuple[list[str], list[str]]:
    """(words without capcodes, capcodes): a run at the end, and a run at the start."""
    end = len(words)
    while end > 0 and (_CAPCODE.fullmatch(words[end - 1]) or _SHORT_CODE.fullmatch(words[end - 1])):
        end -= 1
    while end < len(words) and not _CAPCODE.fullmatch(words[end]):
        end += 1  # the run starts with a real capcode
    if end == 0:
        return [], words  # a page without text: capcodes only
    trailing, words = words[end:], words[:end]
    if trailing and words and words[-1].lower() == "vak:":
        words = words[:-1]  # Rotterdam-Rijnmond (2015) labels the run: "OMS-Melding Vak: 5991320"
    start = 0
    while start < len(words) - 1 and _PLAIN_CAPCODE.fullmatch(words[start]):
        start += 1
    return words[start:], words[:start] + trailing


@cache
def _places() -> PlaceMatcher:
    return PlaceMatcher()


@cache
def _by_name() -> dict[str, Place]:
    return {entry.place.name: entry.place for entry in load_table()}


def _place(words: list[str], text: str) -> tuple[str | None, Place | None]:
    for word in reversed(words):
        known = ABBREVIATIONS.get(word.strip(".,;:()[]"))
        if known is not None:
            return known[0], _by_name().get(known[1])
    found = _places().find(text)
    if found:
        return found[-1].name, found[-1]  # the place comes last, after the street
    return None, None


def parse_p2000(message: str) -> P2000Message:
    """Split a pager message into its parts (best effort; nothing here is required)."""
    words, capcodes = _split_capcodes(message.split())
    text = " ".join(words) if words or not capcodes else NO_TEXT
    priority = service = None
    match = _PRIORITY.match(text)
    if match:
        if match.group(1):
            priority = f"P{match.group(1)}"
        else:
            priority = f"{match.group(2).upper()}{match.group(3)}"
            service = "ambulance"
    region = _REGION_CODE.match(text)
    place, municipality = _place(words, text)
    return P2000Message(
        text=text,
        priority=priority,
        service=service,
        region_code=region.group(1).upper() if region else None,
        capcodes=tuple(capcodes),
        dispatch_codes=tuple(dict.fromkeys(" ".join(m.split()) for m in _DISPATCH.findall(text))),
        place=place,
        municipality=municipality,
    )


def service_name(value: str) -> str | None:
    """The service a name or unit names: "Brandweer Haaglanden (Zoetermeer)" → "brandweer"."""
    words: list[str] = re.findall(r"[^\W\d_]+", value.lower())
    return next((word for word in words if word in _SERVICES), None)


def _description_units(summary: str) -> tuple[list[str], str | None]:
    """Capcodes and the service of the units listed one per line in an item's description."""
    capcodes: list[str] = []
    service: str | None = None
    for line in html_to_text(summary).splitlines():
        match = _CAPCODE_LINE.match(line)
        if match:
            capcodes.append(match.group(1))
            service = service or service_name(match.group(2))
    return capcodes, service


def map_p2000_item(
    entry: Mapping[str, Any], feed_title: str | None = None, fetched_at: datetime | None = None
) -> Post:
    """Map a P2000 feed item (as feedparser reads it) to a Post with the message as text."""
    if not isinstance(entry, Mapping):
        raise MappingError("expected a feed entry")
    raw = entry.get("title") or entry.get("summary")
    if not isinstance(raw, str) or not raw.strip():
        raise MappingError("missing required field 'title'")
    message = parse_p2000(html_to_text(raw).replace("\n", " "))
    if not message.text:
        raise MappingError(f"missing required field 'title' (empty): {raw!r}")
    meta = message.meta()
    summary = entry.get("summary")
    if isinstance(summary, str) and summary is not raw:
        units, service = _description_units(summary)
        capcodes = list(dict.fromkeys([*message.capcodes, *units]))
        if capcodes:
            meta["capcodes"] = capcodes
        if service and "service" not in meta:
            meta["service"] = service
    created_at = entry_time(entry, fetched_at)
    key = next(
        (
            str(entry[field]).strip()
            for field in ("id", "link")
            if isinstance(entry.get(field), str) and entry[field].strip()
        ),
        None,
    )
    if key is None:
        # Without a guid, the time and the full message (capcodes included) identify a message.
        digest = hashlib.sha256(f"{created_at.isoformat()}\n{raw}".encode()).hexdigest()
        key = f"sha256:{digest}"
    native = native_id(key)
    link = entry.get("link")
    return Post(
        id=f"{SOURCE}:{native}",
        source=SOURCE,
        native_id=native,
        created_at=created_at,
        text=message.text,
        author=None,
        url=link if isinstance(link, str) and link else None,
        lang_declared=LANGUAGE,
        places=message.places(),
        meta=meta or None,
    )
