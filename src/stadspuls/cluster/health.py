"""Heartbeats and health of the cluster's processes.

Every process keeps a `Heartbeat`: its kind, name, pid, what it has done, its lag and its last
error. A thread writes it to the broker every `heartbeat_s` as `{prefix}:hb:{kind}:{name}`
(JSON) with a time to live of `heartbeat_ttl_s`, so a dead process's key disappears by itself;
`stadspuls worker health KIND [--name NAME]` reads the keys (for compose and systemd checks).
With `health_port`, the process also answers GET /health itself: 200 when its loop ran within
the TTL and it has no current error, 503 otherwise, with the same JSON.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis

from stadspuls.settings import ClusterSettings, Settings

log = logging.getLogger(__name__)


class Heartbeat:
    """What one process reports about itself; `beat()` from its main loop."""

    def __init__(self, settings: ClusterSettings, kind: str, name: str) -> None:
        self.settings = settings
        self.kind = kind
        self.name = name
        self.pid = os.getpid()
        self.started = time.time()
        self.last_loop = time.monotonic()
        self.state = "starting"
        self.error: str | None = None  # the current error (cleared when it passes)
        self.last_error: str | None = None
        self.counts: dict[str, int] = {}
        self.lag: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None
        self.port: int | None = None

    def beat(self, state: str | None = None) -> None:
        with self._lock:
            self.last_loop = time.monotonic()
            if state is not None:
                self.state = state

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def failing(self, message: str | None) -> None:
        """The current error (None: it passed); the last one stays in `last_error`."""
        with self._lock:
            self.error = message
            if message is not None:
                self.last_error = message

    def key(self) -> str:
        return heartbeat_key(self.settings.stream_prefix, self.kind, self.name)

    def healthy(self) -> bool:
        with self._lock:
            fresh = time.monotonic() - self.last_loop < self.settings.heartbeat_ttl_s
            return fresh and self.error is None and self.state != "stopped"

    def snapshot(self) -> dict[str, Any]:
        healthy = self.healthy()
        with self._lock:
            return {
                "kind": self.kind,
                "name": self.name,
                "pid": self.pid,
                "state": self.state,
                "healthy": healthy,
                "at": time.time(),
                "uptime_s": round(time.time() - self.started, 1),
                "loop_age_s": round(time.monotonic() - self.last_loop, 2),
                "lag": self.lag,
                "error": self.error,
                "last_error": self.last_error,
                "counts": dict(self.counts),
            }

    # Background publishing and serving --------------------------------------------------------

    def start(self, client: redis.Redis, port: int | None = None) -> None:
        """Write the heartbeat every `heartbeat_s` (a client of its own: the main loop's may be
        blocked in a read); serve GET /health on `port` when given."""
        thread = threading.Thread(target=self._publish, args=(client,), daemon=True)
        thread.start()
        self._threads.append(thread)
        if port is not None:
            self._serve(port)

    def _publish(self, client: redis.Redis) -> None:
        ttl_ms = int(self.settings.heartbeat_ttl_s * 1000)
        while not self._stop.is_set():
            try:
                client.set(self.key(), json.dumps(self.snapshot()), px=ttl_ms)
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as error:
                log.debug("heartbeat not written: %s", error)
            self._stop.wait(self.settings.heartbeat_s)

    def _serve(self, port: int) -> None:
        heartbeat = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/health":
                    self.send_error(404)
                    return
                body = json.dumps(heartbeat.snapshot()).encode()
                self.send_response(200 if heartbeat.healthy() else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health: " + format, *args)

        self._server = ThreadingHTTPServer((self.settings.health_host, port), Handler)
        self.port = self._server.server_address[1]
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        self._threads.append(thread)
        log.info("GET /health on %s:%d", self.settings.health_host, self.port)

    def stop(self, client: redis.Redis | None = None) -> None:
        self.beat("stopped")
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if client is not None:
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                client.delete(self.key())


def heartbeat_key(prefix: str, kind: str, name: str) -> str:
    return f"{prefix}:hb:{kind}:{name}"


def read_heartbeats(client: redis.Redis, prefix: str, kind: str) -> list[dict[str, Any]]:
    keys = sorted(client.scan_iter(match=heartbeat_key(prefix, kind, "*"), count=1000))
    beats = []
    for value in client.mget(keys) if keys else ():
        if value is not None:
            beats.append(json.loads(value))
    return beats


def check_health(
    settings: Settings,
    kind: str,
    name: str | None,
    *,
    client_factory: Callable[[str], redis.Redis] = redis.Redis.from_url,
) -> tuple[bool, list[str]]:
    """Whether a `kind` process (named `name`, a shell-style pattern, or any) has a fresh,
    healthy heartbeat; one line per process found."""
    cluster = settings.cluster
    client = client_factory(cluster.broker_url)
    try:
        beats = read_heartbeats(client, cluster.stream_prefix, kind)
    except (redis.ConnectionError, redis.TimeoutError) as unreachable:
        return False, [f"broker unreachable at {cluster.broker_url}: {unreachable}"]
    finally:
        client.close()
    if name is not None:
        # A pattern matches the default names of a host's workers: "door-$HOSTNAME-*".
        beats = [beat for beat in beats if fnmatch.fnmatchcase(str(beat.get("name")), name)]
    if not beats:
        who = f"{kind} {name}" if name else f"any {kind}"
        return False, [f"no heartbeat of {who} (none within {cluster.heartbeat_ttl_s:g} s)"]
    lines = []
    for beat in beats:
        status = "healthy" if beat["healthy"] else "UNHEALTHY"
        error = f" error: {beat['error']}" if beat.get("error") else ""
        lines.append(
            f"{beat['kind']} {beat['name']} pid {beat['pid']}: {status}, {beat['state']},"
            f" lag {beat['lag']}, counts {json.dumps(beat['counts'], sort_keys=True)}{error}"
        )
    return any(beat["healthy"] for beat in beats), lines
