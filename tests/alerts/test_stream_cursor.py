"""The live stream's cursor: an event committed late, below one already sent, is still sent once;
a hole that stays (a rolled-back insert) stops holding the cursor back after the grace time."""

from __future__ import annotations

import msgspec

from stadspuls.alerts.stream import WINDOW, EventCursor


class Event(msgspec.Struct, frozen=True):
    id: int


def _ids(events: list[Event]) -> list[int]:
    return [e.id for e in events]


def test_a_late_commit_below_the_last_sent_id_is_sent_once() -> None:
    now = [0.0]
    cursor = EventCursor(10, grace_s=5, clock=lambda: now[0])
    assert _ids(cursor.fresh([Event(11), Event(13)])) == [11, 13]
    assert cursor.last == 13
    assert set(cursor.missing) == {12}
    assert cursor.floor == 11
    # The next read returns 13 again with the late 12 (it asked for ids above 13 and for 12).
    assert _ids(cursor.fresh([Event(12), Event(13), Event(14)])) == [12, 14]
    assert (cursor.floor, cursor.missing) == (14, {})
    assert _ids(cursor.fresh([Event(14)])) == []


def test_a_hole_that_stays_is_given_up_after_the_grace_time() -> None:
    now = [0.0]
    cursor = EventCursor(0, grace_s=5, clock=lambda: now[0])
    cursor.fresh([Event(1), Event(3)])
    now[0] = 4.9
    assert _ids(cursor.fresh([Event(4)])) == [4]
    assert (cursor.floor, set(cursor.missing)) == (1, {2})
    now[0] = 5.0
    cursor.fresh([])
    assert (cursor.floor, cursor.missing, cursor.sent) == (4, {}, set())


def test_old_holes_are_not_tracked() -> None:
    cursor = EventCursor(0)
    assert _ids(cursor.fresh([Event(50_000), Event(50_001)])) == [50_000, 50_001]
    assert cursor.floor >= 50_001 - WINDOW
    assert len(cursor.missing) < WINDOW
