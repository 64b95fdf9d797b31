"""The P2000 trigger: a pager message of a configured priority opens a watch at its place;
posts that follow about an incident there raise a signal that links the pager message."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from stadspuls.detect.base import Rule
from stadspuls.detect.p2000 import P2000TriggerDetector, speaks_of_incident
from stadspuls.detect.registry import build
from stadspuls.records import Post, Signal
from stadspuls.sources.p2000_csv import RowMapper
from tests.conftest import shared_data_path
from tests.detect.story_posts import DEN_HAAG, EINDHOVEN, post

NYE = datetime(2019, 12, 31, 22, 12, 5, tzinfo=UTC)
RULE = {7: Rule()}


def pager(text: str, priority: str, at: datetime = NYE) -> Post:
    """A P2000 message as the CSV import maps it (places and meta from the message)."""
    local = at.astimezone(UTC) + timedelta(hours=1)  # the logs hold Dutch winter time
    row = {"created_at": local.replace(tzinfo=None).isoformat(), "service": "brandweer"}
    return RowMapper()({**row, "priority": priority, "text": text})


FIRE = pager("P 1 Brand woning (VK: 1) Laakkade SGRAVH 157130", "P1")


def social(n: int, text: str, minutes: float, **fields: Any) -> Post:
    fields.setdefault("places", (DEN_HAAG,))
    return post(n, text, at=NYE + timedelta(minutes=minutes), **fields)


FOLLOWING = [
    social(1, "Enorme rookwolk boven de Laakkade in Den Haag", 4),
    social(2, "Weer een woningbrand in Den Haag, brandweer rukt uit", 9),
    social(3, "Vlammen slaan uit een huis in Den Haag", 15),
]


def run(detector: P2000TriggerDetector, posts: list[Post]) -> list[Signal]:
    return [s for p in posts for s in detector.observe(p, RULE if p.source == "p2000" else {})]


def test_the_pager_message_is_parsed_as_the_detector_expects() -> None:
    assert FIRE.source == "p2000"
    assert FIRE.meta is not None
    assert FIRE.meta["priority"] == "P1"
    assert [p.code for p in FIRE.places] == ["GM0518"]
    assert FIRE.created_at == NYE


def test_posts_that_follow_a_p1_message_at_its_place_raise_a_signal() -> None:
    detector = P2000TriggerDetector()
    signals = run(detector, [FIRE, *FOLLOWING])
    assert [s.observed for s in signals] == [2.0, 3.0]
    first = signals[0]
    assert first.monitor_id == 7
    assert first.detector == "p2000"
    assert first.key == FIRE.id
    assert first.post_ids == (FIRE.id, FOLLOWING[0].id, FOLLOWING[1].id)
    assert first.started_at == FIRE.created_at
    assert first.at == FOLLOWING[1].created_at
    assert first.top_places == ("'s-Gravenhage",)
    assert signals[1].post_ids == (FIRE.id, *(p.id for p in FOLLOWING))


def test_a_priority_the_rule_does_not_name_opens_no_watch() -> None:
    p2 = pager("P 2 Buitenbrand container Mariottestraat SGRAVH 157830", "P2")
    assert run(P2000TriggerDetector(), [p2, *FOLLOWING]) == []
    detector = P2000TriggerDetector()
    rules = {7: Rule(params={"priorities": ["p 2"]})}
    detector.observe(p2, rules)
    assert len([s for p in FOLLOWING for s in detector.observe(p, {})]) == 2


def test_a_message_without_a_monitor_or_a_place_opens_no_watch() -> None:
    detector = P2000TriggerDetector()
    detector.observe(FIRE, {})
    nowhere = pager("P 1 Brandmelding OMS (VK: 1) 157130", "P1")
    assert nowhere.places == ()
    detector.observe(nowhere, RULE)
    assert [s for p in FOLLOWING for s in detector.observe(p, {})] == []


def test_the_watch_expires() -> None:
    late = [
        social(10 + i, p.text, 6 * 60 + 1 + i, author_key=p.author_key)
        for i, p in enumerate(FOLLOWING)
    ]
    assert run(P2000TriggerDetector(), [FIRE, *late]) == []
    detector = P2000TriggerDetector()
    detector.observe(FIRE, {7: Rule(params={"watch_hours": 8})})
    assert len([s for p in late for s in detector.observe(p, {})]) == 2


def test_only_posts_after_the_message_at_its_place_about_an_incident_count() -> None:
    before = social(20, "Brand in Den Haag", -10)
    elsewhere = social(21, "Brand in Eindhoven", 5, places=(EINDHOVEN,))
    quiet = social(22, "Gelukkig nieuwjaar Den Haag!", 6)
    labelled = social(23, "Wat is dit nou weer in Den Haag", 7, incident_type="explosion")
    signals = run(P2000TriggerDetector(), [before, FIRE, elsewhere, quiet, labelled])
    assert signals == []  # only `labelled` counts: one author
    assert speaks_of_incident(labelled)
    assert not speaks_of_incident(quiet)


def test_the_same_author_counts_once_and_sensitivity_scales() -> None:
    twice = [social(30 + i, p.text, p.created_at.minute, author_key="one") for i, p in
             enumerate(FOLLOWING)]  # fmt: skip
    assert run(P2000TriggerDetector(), [FIRE, *twice]) == []
    detector = P2000TriggerDetector()
    detector.observe(FIRE, {7: Rule(sensitivity=2.0)})
    assert [s.observed for s in detector.observe(FOLLOWING[0], {})] == [1.0]


def test_later_messages_extend_the_open_watch_instead_of_opening_another() -> None:
    detector = P2000TriggerDetector()
    second = pager(
        "P 1 Brand woning (VK: 2) Hoefkade SGRAVH 157130", "P1", NYE + timedelta(hours=5)
    )
    late = social(40, "Brandweer blust een brand in Den Haag", 5 * 60 + 50)
    signals = run(detector, [FIRE, second, FOLLOWING[0], late])
    assert [s.key for s in signals] == [FIRE.id]
    assert signals[0].details is not None
    assert signals[0].details["pager_messages"] == 2.0


def test_snapshot_restore_forget() -> None:
    whole = run(P2000TriggerDetector(), [FIRE, *FOLLOWING])
    first = P2000TriggerDetector()
    run(first, [FIRE, FOLLOWING[0]])
    second = build("p2000")
    second.restore(first.snapshot())
    assert [s for p in FOLLOWING[1:] for s in second.observe(p, {})] == whole
    second.forget(7)
    assert second.snapshot() == P2000TriggerDetector().snapshot()


def test_bad_rule_params_get_a_clear_error() -> None:
    with pytest.raises(ValueError, match="watch_hours"):
        P2000TriggerDetector().observe(FIRE, {7: Rule(params={"watch_hours": "six"})})


@pytest.mark.shared_data
def test_real_new_years_eve_messages_open_watches_that_posts_trigger() -> None:
    """The real fire-brigade messages of New Year's Eve 2019/20: each P1 message with a place
    opens (or extends) a watch; two posts about a fire in that city then raise one signal."""
    path = shared_data_path("p2000", "nye_2017_2020_fire.csv")
    mapper = RowMapper()
    with path.open(encoding="utf-8") as handle:
        messages = [mapper(row) for row in csv.DictReader(handle)]
    evening = [
        m for m in messages if m.created_at.date() == NYE.date() and m.created_at.year == 2019
    ]
    assert any(m.meta and m.meta.get("priority") == "P2" for m in evening)
    detector = P2000TriggerDetector()
    for message in evening:
        assert detector.observe(message, RULE) == []
    watched = set(detector.state.watches)
    assert {"GM0518", "GM0599"} <= watched  # Den Haag and Rotterdam
    end = max(m.created_at for m in evening)
    posts = [
        post(50, "Alweer brand in Rotterdam, overal sirenes", at=end + timedelta(minutes=1),
             places=(msgspec.structs.replace(DEN_HAAG, code="GM0599", name="Rotterdam"),)),
        post(51, "Containerbrand bij ons in de straat in Rotterdam", at=end + timedelta(minutes=2),
             places=(msgspec.structs.replace(DEN_HAAG, code="GM0599", name="Rotterdam"),)),
    ]  # fmt: skip
    signals = [s for p in posts for s in detector.observe(p, {})]
    assert len(signals) == 1
    assert signals[0].post_ids[0].startswith("p2000:")


def test_an_a1_ambulance_call_opens_a_watch_by_default() -> None:
    """A real A1 line (national log, October 2015): urgent ambulance calls count by default."""
    call = pager("A1 De Genestetlaan 4 Hoogeveen Hoogeveen 7901HN 4", "A1")
    assert call.meta is not None
    assert call.meta["priority"] == "A1"
    (place,) = call.places
    detector = P2000TriggerDetector()
    detector.observe(call, RULE)
    follow = [
        social(60 + i, text, 10 + i, places=(place,))
        for i, text in enumerate(["Ambulance met spoed naar Hoogeveen", "Ongeluk in Hoogeveen?"])
    ]
    signals = [s for p in follow for s in detector.observe(p, {})]
    assert [s.key for s in signals] == [call.id]
