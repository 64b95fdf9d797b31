"""What every cluster process does around its loop: signals, heartbeat, /health, logging."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import redis

from stadspuls.cluster.broker import Broker
from stadspuls.cluster.health import Heartbeat
from stadspuls.settings import ClusterSettings

log = logging.getLogger(__name__)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the loop finishes its batch and returns."""
    stop = threading.Event()

    def handler(signum: int, _: FrameType | None) -> None:
        log.warning("%s: stopping after this batch", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def serve(
    heartbeat: Heartbeat,
    broker: Broker,
    settings: ClusterSettings,
    loop: Callable[[threading.Event], None],
) -> None:
    """Run `loop(stop)` with the heartbeat written and /health served until a signal."""
    stop = stop_on_signals()
    client = redis.Redis.from_url(settings.broker_url, socket_timeout=5, socket_connect_timeout=5)
    heartbeat.start(client, settings.health_port)
    log.info("%s %s started (pid %d)", heartbeat.kind, heartbeat.name, heartbeat.pid)
    try:
        loop(stop)
    finally:
        heartbeat.stop(client)
        client.close()
        broker.close()
        log.info("%s %s stopped", heartbeat.kind, heartbeat.name)
