"""The broker's backlog figure, which the collector's back-pressure waits on: it must reach
zero when every entry is read and acknowledged, whatever XINFO's `lag` says after Redis reloads
its append-only file."""

from __future__ import annotations

from typing import Any

from stadspuls.cluster.broker import Broker, undelivered
from stadspuls.settings import Settings


def test_a_group_that_read_the_last_entry_has_nothing_undelivered() -> None:
    # What bench/cluster.py saw after a Redis 7.0.15 restart: XINFO's lag 16,500 on a stream
    # whose every entry had been read and acknowledged, and the collector waited for ever.
    assert undelivered(16_500, 0, b"1796-3", b"1796-3") == 0
    assert undelivered(None, 40, b"1796-3", b"1796-3") == 0


def test_undelivered_never_exceeds_what_the_stream_holds() -> None:
    assert undelivered(16_500, 120, b"1796-3", b"1797-0") == 120
    assert undelivered(7, 120, b"1796-3", b"1797-0") == 7
    # No lag known (a group created on an existing stream): the whole stream is the bound.
    assert undelivered(None, 120, b"0-0", b"1797-0") == 120


def test_lag_counts_undelivered_and_pending_on_a_real_redis(cluster_settings: Settings) -> None:
    broker = Broker(cluster_settings.cluster)
    try:
        stream, group = broker.items, "door"
        broker.ensure_group(stream, group)
        broker.publish(stream, [{b"n": str(i).encode()} for i in range(10)])
        assert broker.lag(stream, group) == 10
        ids = _read(broker, stream, group, 4)
        # Four handed out but not acknowledged: still behind by ten.
        assert broker.lag(stream, group) == 10
        broker.redis.xack(stream, group, *ids)
        assert broker.lag(stream, group) == 6
        broker.redis.xack(stream, group, *_read(broker, stream, group, 100))
        assert broker.lag(stream, group) == 0
    finally:
        broker.close()


def _read(broker: Broker, stream: str, group: str, count: int) -> list[bytes]:
    """Hand `count` new entries to a consumer, unacknowledged; their ids."""
    read: Any = broker.redis.xreadgroup(group, "c1", {stream: ">"}, count=count)
    return [entry_id for entry_id, _ in read[0][1]]
