"""The door in a child process, so that enrichment and storage run on two cores at once.

`DoorProcess` has the `Door`'s call interface, plus `submit`/`collect` so the pipeline can hand
batch k to the child while it writes batch k-1. Posts cross the process boundary as msgpack
(msgspec), about a microsecond per post each way. One child keeps the door's state (the
near-duplicate memory) in one place, so results equal those of an in-process door.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from stadspuls.enrich.pseudonymise import Pseudonymiser, load_or_create_key
from stadspuls.records import Deletion, Post
from stadspuls.settings import Settings

log = logging.getLogger(__name__)

# gc.set_threshold in the door's process: generation 0 after 50,000 allocations, not 700.
DOOR_GC_THRESHOLDS = (50_000, 20, 100)

_encode = msgspec.msgpack.Encoder().encode
_decode_posts = msgspec.msgpack.Decoder(list[Post]).decode


class DoorProcessError(RuntimeError):
    """The child process failed on a batch; the message carries its traceback."""


class DoorProcessDied(DoorProcessError):
    """The child process is gone (killed, out of memory): nothing came back for the batch."""


def _child(conn: Connection, settings: Settings) -> None:
    from stadspuls.enrich.dedup import Deduplicator
    from stadspuls.enrich.door import build_door
    from stadspuls.store.database import open_store
    from stadspuls.store.posts import recent_fingerprints

    door = build_door(settings)  # its models load with the first batch that needs them
    dedup = next((e for e in door.enrichers if isinstance(e, Deduplicator)), None)
    if dedup is not None:
        engine = open_store(settings.db_url, cache_mib=settings.sqlite_cache_mib)
        dedup.seed(recent_fingerprints(engine, dedup.index.window))
        engine.dispose()
    # The door allocates millions of small objects an hour and keeps a large, steadily renewed
    # memory (dedup's window): with CPython's default thresholds the cyclic collector walks that
    # memory again and again (a third of dedup's CPU with its window full, bench/dedup.py).
    # Reference counting frees almost everything here; cycles are rare and may wait longer.
    gc.freeze()  # what start-up loaded (models, the seeded window) is never collected
    gc.set_threshold(*DOOR_GC_THRESHOLDS)
    conn.send_bytes(b"ready")
    while True:
        try:
            message = conn.recv_bytes()
        except EOFError:
            return
        if message == b"stop":
            return
        if message == b"warm":
            door.warm_up()
            conn.send_bytes(b"ok" + _encode([]))
            continue
        try:
            conn.send_bytes(b"ok" + _encode(door(_decode_posts(message))))
        except Exception:
            conn.send_bytes(b"er" + traceback.format_exc().encode())


class DoorProcess:
    """A door running in a child process (spawned, so no state leaks in from the parent)."""

    name = "door-process"

    def __init__(self, settings: Settings, *, start_timeout: float = 120.0) -> None:
        self.settings = settings
        self.start_timeout = start_timeout
        self.restarts = 0
        self._pseudonymiser: Pseudonymiser | None = None
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child_conn, self.settings), name="stadspuls-door", daemon=True
        )
        self._process.start()
        child_conn.close()
        self._pending = 0
        try:
            ready = self._conn.poll(self.start_timeout) and self._conn.recv_bytes() == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.close()
            raise DoorProcessError("the door process did not start (see its error above)")

    def warm_up(self) -> None:
        """Load the child's models now rather than with the first batch that needs them."""
        self._conn.send_bytes(b"warm")
        self._pending += 1
        self.collect()

    def submit(self, posts: Sequence[Post]) -> None:
        self._conn.send_bytes(_encode(list(posts)))
        self._pending += 1

    def collect(self) -> list[Post]:
        if not self._pending:
            raise RuntimeError("collect() without a submitted batch")
        self._pending -= 1
        try:
            reply = self._conn.recv_bytes()
        except (EOFError, OSError) as error:
            raise DoorProcessDied("the door process died") from error
        if reply.startswith(b"er"):
            raise DoorProcessError(reply[2:].decode())
        return _decode_posts(reply[2:])

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        """Enrich one batch; if the child died, start a new one and enrich the batch there.

        A new child seeds its near-duplicate memory from the store, as at start-up.
        """
        try:
            self.submit(posts)
            return self.collect()
        except (DoorProcessDied, BrokenPipeError, ConnectionResetError):
            log.warning("the door process died; starting a new one")
            self.close()
            self._start()
            self.restarts += 1
            self.submit(posts)
            return self.collect()

    def deletions(self, deletions: Sequence[Deletion]) -> list[Deletion]:
        """Deletions with stored post ids: keyed here, as cheap as sending them to the child."""
        if self._pseudonymiser is None:
            self._pseudonymiser = Pseudonymiser(load_or_create_key(self.settings.key_file))
        return self._pseudonymiser.deletions(deletions)

    def close(self) -> None:
        try:
            while self._pending:
                self.collect()
            self._conn.send_bytes(b"stop")
        except (OSError, EOFError, DoorProcessError):
            pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()

    def __enter__(self) -> DoorProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
