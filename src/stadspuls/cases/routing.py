"""Routing: the first active rule (by position) whose every condition holds sends a message to
its department; none: the fallback department. The decision explains itself.
CONTRACT STUB: the admin helper implements it.
"""

from __future__ import annotations

from collections.abc import Sequence

from stadspuls.cases.records import InboundMessage, RouteDecision, RoutingRule


class Router:
    """Rules compiled once (their queries parsed with the monitor query language)."""

    def __init__(self, rules: Sequence[RoutingRule], *, fallback_department_id: int) -> None:
        raise NotImplementedError

    def decide(
        self, message: InboundMessage, *, language: str | None, place_code: str | None
    ) -> RouteDecision:
        """`language` and `place_code` as the service determined them (identified language,
        CBS municipality code of the point or the text)."""
        raise NotImplementedError
