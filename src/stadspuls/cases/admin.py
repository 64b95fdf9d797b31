"""Setting up the inbox: departments and who works in them, routing rules, reply templates and
calls for tips. Admins change departments, members and rules; analysts in a department manage
its templates (reviewed by someone else before use) and its calls. Every change is audited in
the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time

import msgspec
import sqlalchemy as sa

from stadspuls.access.roles import SYSTEM, Forbidden, allows, check
from stadspuls.cases import calls as call_rules
from stadspuls.cases import replies
from stadspuls.cases.checks import (
    AdminError,
    AlreadyExists,
    check_department,
    check_template,
    clean_rule,
)
from stadspuls.cases.records import (
    Call,
    Department,
    InboundMessage,
    OfficeHours,
    OpeningSpan,
    ReplyTemplate,
    RouteDecision,
    RoutingRule,
)
from stadspuls.cases.routing import Router, place_of_text
from stadspuls.query.matcher import compile_query
from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import NotFound
from stadspuls.settings import Settings
from stadspuls.store import audit, departments, monitors, reply_templates, routing_rules
from stadspuls.store import calls as call_store
from stadspuls.store.schema import users

# Who reviewed the built-in templates: the project, in the government's B1 plain-language style.
BUILT_IN_REVIEWER = "stadspuls"
# The fallback department's hours until an admin sets its own: Monday to Friday 08:30–17:00.
DEFAULT_HOURS = OfficeHours(
    week={day: (OpeningSpan(start=time(8, 30), end=time(17, 0)),) for day in range(5)}
)


class NotAMember(Forbidden):
    """The actor does not work in the department whose templates or calls these are."""

    def __init__(self, actor: Actor, department_id: int) -> None:
        super().__init__(actor, "cases")
        # As an Explained refusal, so that a page says it in the reader's language.
        self.message = "%(user)s does not work in department %(id)s"
        self.params: dict[str, object] = {"user": actor.username, "id": department_id}
        self.args = (self.message % self.params,)


class CaseAdmin:
    def __init__(
        self, engine: sa.Engine, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    # -- the fallback and the built-in templates --------------------------------------------

    def ensure_fallback(self) -> Department:
        """The fallback department (settings.inbox.fallback_department), created when missing,
        with the built-in reply templates (received, out of hours)."""
        slug = self.settings.inbox.fallback_department
        try:
            return self._ensure_fallback(slug)
        except (departments.DepartmentExists, reply_templates.TemplateExists):
            # Another process created them between our read and our write: theirs stand.
            return self._ensure_fallback(slug)

    def _ensure_fallback(self, slug: str) -> Department:
        with self.engine.begin() as conn:
            found = departments.by_slug(conn, slug)
            if found is None:
                found = departments.save(
                    conn, Department(slug=slug, name=slug.capitalize(), hours=DEFAULT_HOURS)
                )
                self._audit(conn, SYSTEM, "department.save", found.id, slug=slug)
            now = self.clock()
            for built_in in replies.BUILT_IN:
                name = replies.localized_name(built_in.name, built_in.language)
                if reply_templates.by_name(conn, name) is None:
                    reply_templates.save(
                        conn,
                        ReplyTemplate(
                            name=name,
                            language=built_in.language,
                            subject=built_in.subject,
                            body=built_in.body,
                            reviewed_by=BUILT_IN_REVIEWER,
                            reviewed_at=now,
                        ),
                        editor=BUILT_IN_REVIEWER,
                    )
            return found

    # -- departments and members ------------------------------------------------------------

    def departments(self, actor: Actor) -> list[Department]:
        check(actor, "cases")
        with self.engine.connect() as conn:
            return departments.list_all(conn)

    def department(self, actor: Actor, department_id: int) -> Department:
        check(actor, "cases")
        with self.engine.connect() as conn:
            return _department(conn, department_id)

    def my_departments(self, actor: Actor) -> list[Department]:
        """The departments whose cases `actor` works on (every one, for an admin)."""
        check(actor, "cases")
        with self.engine.connect() as conn:
            every = departments.list_all(conn)
            if allows(actor, "admin"):
                return every
            mine = set(departments.of_user(conn, actor.user_id)) if actor.user_id else set()
            return [department for department in every if department.id in mine]

    def save_department(self, actor: Actor, department: Department) -> Department:
        check(actor, "admin")
        check_department(department)
        with self.engine.begin() as conn:
            if department.id is not None:
                before = _department(conn, department.id)
                if not department.active and before.slug == self.settings.inbox.fallback_department:
                    raise AdminError("the fallback department takes what no rule matches: it stays")
            if department.auto_reply_template and (
                reply_templates.by_name(conn, department.auto_reply_template) is None
            ):
                raise AdminError("no reply template %(name)r", name=department.auto_reply_template)
            try:
                saved = departments.save(conn, department)
            except departments.DepartmentExists as error:
                raise AlreadyExists(
                    "a department named %(slug)r exists", slug=department.slug
                ) from error
            self._audit(conn, actor, "department.save", saved.id, slug=saved.slug)
            return saved

    def members(self, actor: Actor, department_id: int) -> list[int]:
        check(actor, "cases")
        with self.engine.connect() as conn:
            _department(conn, department_id)
            return departments.members(conn, department_id)

    def set_members(self, actor: Actor, department_id: int, user_ids: Sequence[int]) -> None:
        check(actor, "admin")
        wanted = sorted(set(user_ids))
        with self.engine.begin() as conn:
            _department(conn, department_id)
            known = set(conn.execute(sa.select(users.c.id).where(users.c.id.in_(wanted))).scalars())
            unknown = [uid for uid in wanted if uid not in known]
            if unknown:
                raise AdminError("no user with id %(ids)s", ids=", ".join(map(str, unknown)))
            departments.set_members(conn, department_id, wanted)
            self._audit(
                conn,
                actor,
                "department.members",
                department_id,
                members=",".join(map(str, wanted)),
            )

    # -- routing ----------------------------------------------------------------------------

    def rules(self, actor: Actor) -> list[RoutingRule]:
        check(actor, "cases")
        with self.engine.connect() as conn:
            return routing_rules.list_all(conn)

    def save_rule(self, actor: Actor, rule: RoutingRule) -> RoutingRule:
        """A bad query raises QuerySyntaxError (422, with its column), as a monitor's does."""
        check(actor, "admin")
        rule = clean_rule(rule)
        if rule.query:
            compile_query(rule.query)
        with self.engine.begin() as conn:
            _department(conn, rule.department_id)
            if rule.id is not None and routing_rules.get(conn, rule.id) is None:
                raise NotFound(f"no routing rule {rule.id}")
            saved = routing_rules.save(conn, rule)
            self._audit(
                conn,
                actor,
                "rule.save",
                saved.department_id,
                rule=saved.id,
                name=saved.name,
                query=saved.query,
            )
            return saved

    def delete_rule(self, actor: Actor, rule_id: int) -> None:
        check(actor, "admin")
        with self.engine.begin() as conn:
            rule = routing_rules.get(conn, rule_id)
            if rule is None:
                raise NotFound(f"no routing rule {rule_id}")
            routing_rules.delete(conn, rule_id)
            self._audit(
                conn, actor, "rule.delete", rule.department_id, rule=rule_id, name=rule.name
            )

    def move_rule(self, actor: Actor, rule_id: int, steps: int) -> list[RoutingRule]:
        """Move a rule `steps` places later (negative: earlier) in the order they are tried."""
        check(actor, "admin")
        with self.engine.begin() as conn:
            try:
                ordered = routing_rules.move(conn, rule_id, steps)
            except LookupError as error:
                raise NotFound(str(error)) from error
            self._audit(conn, actor, "rule.move", None, rule=rule_id, steps=steps)
            return ordered

    def router(self) -> Router:
        """The router of the rules as they are now: the case service routes with it, and the
        rules page's test box asks the same one."""
        fallback = self.ensure_fallback()
        assert fallback.id is not None
        with self.engine.connect() as conn:
            rules = routing_rules.list_all(conn, active_only=True)
        return Router(rules, fallback_department_id=fallback.id)

    def try_route(
        self, actor: Actor, message: InboundMessage, *, place_code: str | None = None
    ) -> RouteDecision:
        """Which rule would take this message, and why (the rules page's test box). Without
        `place_code`, the first municipality named in the message stands for its place."""
        check(actor, "cases")
        if place_code is None:
            place_code = place_of_text(
                f"{message.subject}\n{message.address or ''}\n{message.text}"
            )
        return self.router().decide(message, language=message.language, place_code=place_code)

    # -- templates --------------------------------------------------------------------------

    def templates(self, actor: Actor, *, department_id: int | None = None) -> list[ReplyTemplate]:
        check(actor, "cases")
        with self.engine.connect() as conn:
            return reply_templates.list_all(conn, department_id=department_id)

    def template(self, actor: Actor, template_id: int) -> ReplyTemplate:
        check(actor, "cases")
        with self.engine.connect() as conn:
            return _template(conn, template_id)

    def save_template(self, actor: Actor, template: ReplyTemplate) -> ReplyTemplate:
        """A changed template needs a new review."""
        check(actor, "cases")
        check_template(template)
        with self.engine.begin() as conn:
            self._may_edit_template(conn, actor, template.department_id)
            review: dict[str, object] = {"reviewed_by": None, "reviewed_at": None}
            if template.id is not None:
                before = _template(conn, template.id)
                self._may_edit_template(conn, actor, before.department_id)
                if _same_text(before, template):
                    review = {"reviewed_by": before.reviewed_by, "reviewed_at": before.reviewed_at}
            try:
                saved = reply_templates.save(
                    conn, msgspec.structs.replace(template, **review), editor=actor.username
                )
            except reply_templates.TemplateExists as error:
                raise AlreadyExists(
                    "a template named %(name)r exists", name=template.name
                ) from error
            self._audit(
                conn,
                actor,
                "template.save",
                saved.department_id,
                template=saved.id,
                name=saved.name,
            )
            return saved

    def review_template(self, actor: Actor, template_id: int) -> ReplyTemplate:
        """Mark reviewed (by someone other than its last editor)."""
        check(actor, "cases")
        with self.engine.begin() as conn:
            template = _template(conn, template_id)
            if template.department_id is not None:
                self._require_member(conn, actor, template.department_id)
            if template.updated_by == actor.username:
                raise AdminError(
                    "%(user)s edited %(name)r last: someone else reviews it",
                    user=actor.username,
                    name=template.name,
                )
            reply_templates.review(conn, template_id, actor.username)
            self._audit(
                conn,
                actor,
                "template.review",
                template.department_id,
                template=template_id,
                name=template.name,
            )
            return _template(conn, template_id)

    def delete_template(self, actor: Actor, template_id: int) -> None:
        check(actor, "cases")
        with self.engine.begin() as conn:
            template = _template(conn, template_id)
            self._may_edit_template(conn, actor, template.department_id)
            reply_templates.delete(conn, template_id)
            self._audit(
                conn,
                actor,
                "template.delete",
                template.department_id,
                template=template_id,
                name=template.name,
            )

    # -- calls for tips ---------------------------------------------------------------------

    def calls(self, actor: Actor) -> list[Call]:
        check(actor, "cases")
        with self.engine.connect() as conn:
            return call_store.list_all(conn)

    def call(self, actor: Actor, call_id: int) -> Call:
        check(actor, "cases")
        with self.engine.connect() as conn:
            found = call_store.get(conn, call_id)
        if found is None:
            raise NotFound(f"no call {call_id}")
        return found

    def save_call(self, actor: Actor, call: Call) -> Call:
        check(actor, "cases")
        try:
            call_rules.validate(call)
        except call_rules.CallError as error:
            raise AdminError(error.message, **error.params) from error
        with self.engine.begin() as conn:
            _department(conn, call.department_id)
            self._require_member(conn, actor, call.department_id)
            if call.id is None:
                call = msgspec.structs.replace(call, created_by=actor.username)
            else:
                before = call_store.get(conn, call.id)
                if before is None:
                    raise NotFound(f"no call {call.id}")
                self._require_member(conn, actor, before.department_id)
            if call.monitor_id is not None and monitors.get_monitor(conn, call.monitor_id) is None:
                raise AdminError("no monitor %(id)s", id=call.monitor_id)
            try:
                saved = call_store.save(conn, call)
            except call_store.CallExists as error:
                raise AlreadyExists(
                    "a call with the address %(slug)r exists", slug=call.slug
                ) from error
            self._audit(
                conn, actor, "call.save", saved.department_id, call=saved.id, slug=saved.slug
            )
            return saved

    def open_call(self, slug: str) -> Call | None:
        """The public page's call: None when unknown, closed, not yet started or ended."""
        with self.engine.connect() as conn:
            found = call_store.by_slug(conn, slug)
        if found is None or not call_rules.is_open(found, self.clock()):
            return None
        return found

    # -- shared ------------------------------------------------------------------------------

    def _require_member(self, conn: sa.Connection, actor: Actor, department_id: int) -> None:
        if allows(actor, "admin"):
            return
        if actor.user_id is None or actor.user_id not in departments.members(conn, department_id):
            raise NotAMember(actor, department_id)

    def _may_edit_template(
        self, conn: sa.Connection, actor: Actor, department_id: int | None
    ) -> None:
        """A department's templates: its members; the shared ones: admins."""
        if department_id is None:
            check(actor, "admin")
        else:
            _department(conn, department_id)
            self._require_member(conn, actor, department_id)

    @staticmethod
    def _audit(
        conn: sa.Connection,
        actor: Actor,
        action: str,
        department_id: int | None,
        **details: str | int | float | bool | None,
    ) -> None:
        audit.record_action(conn, actor, action, details={"department": department_id, **details})


def _department(conn: sa.Connection, department_id: int) -> Department:
    found = departments.get(conn, department_id)
    if found is None:
        raise NotFound(f"no department {department_id}")
    return found


def _template(conn: sa.Connection, template_id: int) -> ReplyTemplate:
    found = reply_templates.get(conn, template_id)
    if found is None:
        raise NotFound(f"no reply template {template_id}")
    return found


def _same_text(before: ReplyTemplate, after: ReplyTemplate) -> bool:
    return (before.name, before.language, before.subject, before.body) == (
        after.name,
        after.language,
        after.subject,
        after.body,
    )
