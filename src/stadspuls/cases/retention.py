"""Retention of the inbox: closed cases go with everything that hangs off them once their
department's `retention_days` have passed since closing (5 years by default, what Signalen
keeps under the Archiefwet).

Part of `CaseService` (cases/service.py); `stadspuls run` calls `purge` daily
(cases/runner.py), `stadspuls cases purge` on demand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.access.roles import SYSTEM
from stadspuls.store import audit
from stadspuls.store import cases as store
from stadspuls.store import media as media_store
from stadspuls.store.rows import to_us

log = logging.getLogger(__name__)


class Retention:
    engine: sa.Engine
    clock: Callable[[], datetime]
    remove_media: Callable[[Sequence[str]], None] | None

    def purge(self) -> int:
        """Delete closed cases past their department's retention period, with their contacts,
        history and media (rows and files no other case uses); returns how many."""
        total = 0
        while True:
            with self.engine.begin() as conn:
                ids = store.expired(conn, to_us(self.clock()), limit=500)
                if not ids:
                    break
                hashes = store.delete(conn, ids)
                unused = sorted(set(hashes) - media_store.hashes_in_use(conn, hashes))
                audit.record_action(
                    conn, SYSTEM, "cases.purge",
                    details={"cases": len(ids), "first": ids[0], "last": ids[-1],
                             "media_files": len(unused)},
                )  # fmt: skip
            # Files after the commit: a crash in between leaves files without rows (found and
            # removed by the vault's own sweep), never rows without files.
            if unused and self.remove_media is not None:
                self.remove_media(unused)
            elif unused:
                log.warning("purge: %d media files kept (no vault configured)", len(unused))
            total += len(ids)
        return total
