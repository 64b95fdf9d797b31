"""Routing: the first active rule (by position) whose every condition holds sends a message to
its department; none: the fallback department. The decision explains itself.

A rule's query is the monitor query language (stadspuls.query), matched over the message's
subject and text as if they were a post: `brand OR rook`, `"losse stoeptegel"`, `lang:en`,
`place:Eindhoven` all mean what they mean in a monitor. Places in a rule's condition are CBS
municipality codes ("GM0772") or any name the place table knows ("Eindhoven", "Woensel",
"Den Bosch"); a name stands for its municipality, so it matches the code the service found
for the message's point or text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from functools import lru_cache

from stadspuls.cases.records import InboundMessage, RouteDecision, RoutingRule
from stadspuls.enrich import places as place_table
from stadspuls.query.matcher import CompiledQuery, compile_query
from stadspuls.records import Place, Post

_CODE_PREFIX = "GM"


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, frozenset[str]], dict[str, Place]]:
    """Names (as the place matcher keys them) → municipality codes, and code → municipality."""
    names: dict[str, set[str]] = {}
    municipalities: dict[str, Place] = {}
    for entry in place_table.load_table():
        place = entry.place
        names.setdefault(place_table.key(place.name).strip(), set()).add(place.code)
        names.setdefault(place_table.key(place.municipality).strip(), set()).add(place.code)
        if place.name == place.municipality or place.code not in municipalities:
            municipalities[place.code] = place
    return {k: frozenset(v) for k, v in names.items()}, municipalities


def place_codes(value: str) -> frozenset[str]:
    """The municipality codes a rule's place stands for; empty when it names nothing known."""
    value = value.strip()
    names, municipalities = _index()
    if value.upper().startswith(_CODE_PREFIX) and value.upper() in municipalities:
        return frozenset({value.upper()})
    return names.get(place_table.key(value).strip(), frozenset())


def municipality(code: str) -> Place | None:
    return _index()[1].get(code.upper())


def place_of_text(text: str) -> str | None:
    """The first municipality named in `text` (for a message without a point)."""
    found = place_table.PlaceMatcher().find(text)
    return found[0].code if found else None


class _Compiled:
    def __init__(self, rule: RoutingRule) -> None:
        self.rule = rule
        self.query: CompiledQuery | None = (
            compile_query(rule.query) if rule.query and rule.query.strip() else None
        )
        self.categories = {c.casefold() for c in rule.categories}
        self.places = {p: place_codes(p) for p in rule.places}
        self.languages = {language.casefold() for language in rule.languages}
        self.kinds = set(rule.kinds)


def _as_post(message: InboundMessage, language: str | None, place_code: str | None) -> Post:
    text = f"{message.subject}\n{message.text}" if message.subject else message.text
    place = municipality(place_code) if place_code else None
    return Post(
        id=f"{message.channel}:{message.external_id}",
        source=message.channel,
        native_id=message.external_id,
        created_at=message.received_at.astimezone(UTC),
        text=text,
        lang=language,
        lat=message.lat,
        lon=message.lon,
        media=tuple(item.sha256 for item in message.media),
        places=() if place is None else (place,),
    )


class Router:
    """Rules compiled once (their queries parsed with the monitor query language)."""

    def __init__(self, rules: Sequence[RoutingRule], *, fallback_department_id: int) -> None:
        active = sorted(
            (rule for rule in rules if rule.active), key=lambda r: (r.position, r.id or 0)
        )
        # A bad query raises QuerySyntaxError here: the admin refuses it when the rule is saved.
        self._rules = [_Compiled(rule) for rule in active]
        self.fallback_department_id = fallback_department_id

    def decide(
        self, message: InboundMessage, *, language: str | None, place_code: str | None
    ) -> RouteDecision:
        """`language` and `place_code` as the service determined them (identified language,
        CBS municipality code of the point or the text)."""
        post: Post | None = None
        for compiled in self._rules:
            held = _conditions(compiled, message, language, place_code)
            if held is None:
                continue
            if compiled.query is not None:
                post = post or _as_post(message, language, place_code)
                if not compiled.query.matches(post):
                    continue
                held.insert(0, f"zoekvraag {compiled.rule.query!r}")
            rule = compiled.rule
            because = ", ".join(held) if held else "geen voorwaarden"
            return RouteDecision(
                department_id=rule.department_id,
                rule_id=rule.id,
                explanation=f"regel {rule.name!r}: {because}",
            )
        return RouteDecision(
            department_id=self.fallback_department_id,
            rule_id=None,
            explanation="geen regel paste: de standaardafdeling",
        )


def _conditions(
    compiled: _Compiled, message: InboundMessage, language: str | None, place_code: str | None
) -> list[str] | None:
    """The conditions (besides the query) that held, in words; None when one did not."""
    held: list[str] = []
    if compiled.categories:
        if not message.category or message.category.casefold() not in compiled.categories:
            return None
        held.append(f"categorie {message.category!r}")
    if compiled.places:
        code = (place_code or "").upper()
        if not code or not any(code in codes for codes in compiled.places.values()):
            return None
        held.append(f"gemeente {code}")
    if compiled.languages:
        if not language or language.casefold() not in compiled.languages:
            return None
        held.append(f"taal {language}")
    if compiled.kinds:
        if message.kind not in compiled.kinds:
            return None
        held.append(f"soort {message.kind}")
    return held
