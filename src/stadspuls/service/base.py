"""What every part of the read service shares: the store, the keys, and the audit row."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from stadspuls.enrich.pseudonymise import load_or_create_key
from stadspuls.records import Actor
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.store import audit


class ServiceBase:
    """The state the read service's parts (aggregates, posts, monitors, alerts, governance)
    share. `pseudonymise` turns a handle into the pseudonym stored posts carry (the door's
    `Pseudonymiser.pseudonym`); only re-identification may call it on a user's behalf."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        pseudonymise: Callable[[str], str],
        sealer: Sealer | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.pseudonymise = pseudonymise
        self._sealer = sealer

    @property
    def sealer(self) -> Sealer:
        """The key that opens sealed links, read when first needed."""
        if self._sealer is None:
            self._sealer = Sealer(load_or_create_key(self.settings.seal_key_path, "sealing"))
        return self._sealer

    @staticmethod
    def audit(
        conn: sa.Connection,
        actor: Actor,
        action: str,
        *,
        monitor_id: int | None = None,
        query: str | None = None,
        posts: int = 0,
        reason: str | None = None,
        details: dict[str, str | int | float | bool | None] | None = None,
    ) -> None:
        """Append an audit row through `conn`, in the transaction of the read it records."""
        audit.record_action(
            conn, actor, action, monitor_id=monitor_id, query=query, posts=posts, reason=reason,
            details=details,
        )  # fmt: skip
