"""Routing with real monitor queries: first active match by position wins, and says why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stadspuls.cases.records import InboundMessage, RoutingRule
from stadspuls.cases.routing import Router, place_codes, place_of_text
from stadspuls.query.parser import QuerySyntaxError

FALLBACK = 99


def message(text: str, **fields: object) -> InboundMessage:
    return InboundMessage(
        channel="web",
        external_id="m1",
        received_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        text=text,
        **fields,  # type: ignore[arg-type]
    )


RULES = [
    RoutingRule(
        id=1,
        department_id=10,
        position=2,
        name="Afval Eindhoven",
        query="afval OR vuilnis OR container*",
        categories=("afval",),
        places=("Eindhoven",),
    ),
    RoutingRule(id=2, department_id=20, position=1, name="Brand", query='brand OR "rook gezien"'),
    RoutingRule(id=3, department_id=30, position=3, name="Engels", languages=("en",)),
    RoutingRule(id=4, department_id=40, position=0, name="Uit", query="afval", active=False),
    RoutingRule(id=5, department_id=50, position=4, name="Tips", kinds=("tip",)),
]


def test_the_first_matching_rule_by_position_wins_and_explains_itself() -> None:
    router = Router(RULES, fallback_department_id=FALLBACK)
    decision = router.decide(
        message("De containers puilen uit", category="Afval"), language="nl", place_code="GM0772"
    )
    assert (decision.department_id, decision.rule_id) == (10, 1)
    assert decision.explanation == (
        "regel 'Afval Eindhoven': zoekvraag 'afval OR vuilnis OR container*', "
        "categorie 'Afval', gemeente GM0772"
    )
    # "Brand" comes first by position, so a fire about rubbish goes to the fire rule.
    fire = router.decide(
        message("Brand in de afval container", category="afval"),
        language="nl",
        place_code="GM0772",
    )
    assert fire.rule_id == 2


def test_every_condition_must_hold() -> None:
    router = Router(RULES, fallback_department_id=FALLBACK)
    elsewhere = router.decide(
        message("Afval op straat", category="afval"), language="nl", place_code="GM0363"
    )
    assert elsewhere.rule_id is None
    assert elsewhere.department_id == FALLBACK
    assert "geen regel" in elsewhere.explanation
    no_category = router.decide(message("Afval op straat"), language="nl", place_code="GM0772")
    assert no_category.rule_id is None


def test_a_query_reads_the_subject_too_and_phrases_are_phrases() -> None:
    router = Router(RULES, fallback_department_id=FALLBACK)
    by_subject = router.decide(
        message("Kunt u komen kijken?", subject="Rook gezien bij de school"),
        language="nl",
        place_code=None,
    )
    assert by_subject.rule_id == 2
    scattered = router.decide(message("Gezien: rook."), language="nl", place_code=None)
    assert scattered.rule_id is None


def test_language_and_kind_conditions_and_inactive_rules() -> None:
    router = Router(RULES, fallback_department_id=FALLBACK)
    english = router.decide(message("Where do I park?"), language="en", place_code=None)
    assert english.rule_id == 3
    assert english.explanation == "regel 'Engels': taal en"
    tip = router.decide(message("Ik zag iets", kind="tip"), language="nl", place_code=None)
    assert tip.rule_id == 5
    # The inactive rule at position 0 would have taken it.
    assert router.decide(message("afval"), language="nl", place_code=None).rule_id is None


def test_a_rule_without_conditions_matches_everything() -> None:
    router = Router(
        [RoutingRule(id=7, department_id=70, name="Alles")], fallback_department_id=FALLBACK
    )
    decision = router.decide(message("wat dan ook"), language=None, place_code=None)
    assert decision.rule_id == 7
    assert decision.explanation == "regel 'Alles': geen voorwaarden"


def test_query_filters_see_the_language_and_the_place() -> None:
    rules = [RoutingRule(id=8, department_id=80, name="Den Bosch", query="place:'s-Hertogenbosch")]
    router = Router(rules, fallback_department_id=FALLBACK)
    assert router.decide(message("Losse tegel"), language="nl", place_code="GM0796").rule_id == 8
    assert router.decide(message("Losse tegel"), language="nl", place_code=None).rule_id is None


def test_a_bad_query_fails_when_the_router_is_built() -> None:
    broken = RoutingRule(department_id=1, name="Kapot", query="(brand")
    with pytest.raises(QuerySyntaxError):
        Router([broken], fallback_department_id=FALLBACK)


def test_places_are_codes_or_names_case_insensitively() -> None:
    assert place_codes("gm0772") == {"GM0772"}
    assert place_codes("eindhoven") == {"GM0772"}
    assert place_codes("Den Bosch") == {"GM0796"}
    assert place_codes("Nergenshuizen") == frozenset()
    assert place_of_text("Losse stoeptegel in Eindhoven") == "GM0772"
