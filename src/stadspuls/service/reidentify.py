"""Re-identification: the one rule for turning `@handle` in a query into the pseudonym stored
posts carry. Pseudonymisation that anyone can query is no pseudonymisation: only an actor with
the permission "reidentify" who states a reason may do it, and every time is audited."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.access.roles import check
from stadspuls.query.ast import Query
from stadspuls.query.parser import parse, resolve_mentions
from stadspuls.records import Actor
from stadspuls.service.base import ServiceBase
from stadspuls.service.errors import ReasonRequired


def handles_in(query: Query) -> list[str]:
    """The `@handle` terms of a parsed query, as written, in order."""
    found: list[str] = []

    def note(handle: str) -> str:
        found.append(handle)
        return handle

    resolve_mentions(query, note)
    return found


class Reidentification(ServiceBase):
    def resolve_query(
        self,
        conn: sa.Connection,
        actor: Actor,
        text: str,
        reason: str | None,
        *,
        monitor_id: int | None = None,
    ) -> Query:
        """Parse `text` (`QuerySyntaxError` with its column); a query with handles is resolved to
        pseudonyms only for an actor with "reidentify" (else `Forbidden`, nothing resolved) and
        a reason (else `ReasonRequired`), with an audit row "reidentify" through `conn`."""
        parsed = parse(text)
        handles = handles_in(parsed)
        if not handles:
            return parsed
        self.check_reidentify(actor, reason)
        self.audit(
            conn,
            actor,
            "reidentify",
            monitor_id=monitor_id,
            query=text,
            reason=(reason or "").strip(),
            details={"handles": len(handles)},
        )
        return resolve_mentions(parsed, self.pseudonymise)

    @staticmethod
    def check_reidentify(actor: Actor, reason: str | None) -> None:
        check(actor, "reidentify")
        if reason is None or not reason.strip():
            raise ReasonRequired(
                "a query with @handle turns a handle into its pseudonym (re-identification): "
                "state the reason, it is written to the audit log"
            )
