"""The contiguous done watermark: a checkpoint is released only when every sequence up to it
is done, whatever order the door workers finish in."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadspuls.cluster.watermark import Lane


def test_out_of_order_done_marks_hold_the_checkpoint_until_the_gap_closes() -> None:
    lane = Lane()
    lane.hold(4, "jetstream", "cursor-after-3")
    assert lane.mark([2, 3, 4]) == 3
    assert lane.watermark == 0
    assert lane.done == {2, 3, 4}
    assert lane.release() == {}  # item 1 is not stored yet
    lane.mark([1])
    assert lane.watermark == 4
    assert lane.done == set()
    assert lane.release() == {"jetstream": "cursor-after-3"}
    assert lane.release() == {}  # released once


def test_the_latest_of_several_released_checkpoints_wins_per_stream() -> None:
    lane = Lane()
    lane.hold(2, "a", "a2")
    lane.hold(4, "a", "a4")
    lane.hold(3, "b", "b3")
    lane.hold(9, "a", "a9")
    lane.mark(range(1, 6))
    assert lane.release() == {"a": "a4", "b": "b3"}
    assert set(lane.held) == {9}


def test_redelivered_marks_and_checkpoints_change_nothing() -> None:
    lane = Lane()
    lane.hold(2, "s", "c2")
    assert lane.mark([1, 2]) == 2
    assert lane.release() == {"s": "c2"}
    assert lane.mark([1, 2]) == 0  # a redelivered Done
    lane.hold(2, "s", "c2")  # a redelivered checkpoint: already stored
    assert lane.held == {}
    assert lane.release() == {}


def test_state_round_trips_through_its_json() -> None:
    lane = Lane()
    lane.mark([1, 2, 5, 7])
    lane.hold(6, "s", "c6")
    again = Lane.loads(lane.watermark, lane.dumps())
    assert again == lane
    assert again.watermark == 2
    assert again.done == {5, 7}
    assert again.held == {6: ("s", "c6")}


def test_sequences_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        Lane().mark([0])


@given(st.integers(min_value=1, max_value=60), st.randoms(use_true_random=False))
def test_a_released_cursor_never_passes_an_item_not_done(n: int, rng: random.Random) -> None:
    """Items 1..n, a checkpoint after every third; done marks arrive in a random order, in
    random groups (N workers finishing out of order), the checkpoints with their own marks."""
    checkpoints = {seq for seq in range(1, n + 1) if seq % 3 == 0}
    lane = Lane()
    done: set[int] = set()
    stored: int | None = None  # the cursor value last released
    order = list(range(1, n + 1))
    rng.shuffle(order)
    while order:
        size = rng.randint(1, 4)
        group, order = order[:size], order[size:]
        for seq in group:
            if seq in checkpoints:
                lane.hold(seq, "s", str(seq))
        lane.mark(group)
        done.update(group)
        released = lane.release()
        if "s" in released:
            stored = int(released["s"])
        if stored is not None:
            assert all(seq in done for seq in range(1, stored + 1))
        assert lane.watermark == max(k for k in range(n + 1) if set(range(1, k + 1)) <= done)
    assert lane.watermark == n
    assert lane.done == set()
    assert stored == (max(checkpoints) if checkpoints else None)
