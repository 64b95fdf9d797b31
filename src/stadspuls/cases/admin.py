"""Setting up the inbox: departments and who works in them, routing rules, reply templates and
calls for tips. Admins change departments, members and rules; analysts in a department manage
its templates (reviewed by someone else before use) and its calls. Every change is audited.
CONTRACT STUB: the admin helper implements it (signatures are the contract).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.cases.records import (
    Call,
    Department,
    InboundMessage,
    ReplyTemplate,
    RouteDecision,
    RoutingRule,
)
from stadspuls.records import Actor, utcnow
from stadspuls.settings import Settings


class CaseAdmin:
    def __init__(
        self, engine: sa.Engine, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def ensure_fallback(self) -> Department:
        """The fallback department (settings.inbox.fallback_department), created when missing,
        with the built-in reply templates (received, out of hours)."""
        raise NotImplementedError

    # departments and members
    def departments(self, actor: Actor) -> list[Department]:
        raise NotImplementedError

    def my_departments(self, actor: Actor) -> list[Department]:
        raise NotImplementedError

    def save_department(self, actor: Actor, department: Department) -> Department:
        raise NotImplementedError

    def members(self, actor: Actor, department_id: int) -> list[int]:
        raise NotImplementedError

    def set_members(self, actor: Actor, department_id: int, user_ids: Sequence[int]) -> None:
        raise NotImplementedError

    # routing
    def rules(self, actor: Actor) -> list[RoutingRule]:
        raise NotImplementedError

    def save_rule(self, actor: Actor, rule: RoutingRule) -> RoutingRule:
        raise NotImplementedError

    def delete_rule(self, actor: Actor, rule_id: int) -> None:
        raise NotImplementedError

    def try_route(self, actor: Actor, message: InboundMessage) -> RouteDecision:
        """Which rule would take this message, and why (the rules page's test box)."""
        raise NotImplementedError

    # templates
    def templates(self, actor: Actor, *, department_id: int | None = None) -> list[ReplyTemplate]:
        raise NotImplementedError

    def save_template(self, actor: Actor, template: ReplyTemplate) -> ReplyTemplate:
        """A changed template needs a new review."""
        raise NotImplementedError

    def review_template(self, actor: Actor, template_id: int) -> ReplyTemplate:
        """Mark reviewed (by someone other than its last editor)."""
        raise NotImplementedError

    # calls for tips
    def calls(self, actor: Actor) -> list[Call]:
        raise NotImplementedError

    def save_call(self, actor: Actor, call: Call) -> Call:
        raise NotImplementedError

    def open_call(self, slug: str) -> Call | None:
        """The public page's call: None when unknown, closed, not yet started or ended."""
        raise NotImplementedError
