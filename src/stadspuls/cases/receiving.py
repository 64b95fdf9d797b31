"""Receiving a citizen's message: a new case (identified, located, routed, its contact sealed,
its media stored, its out-of-hours reply queued) or a further message in a case.

Part of `CaseService` (cases/service.py), kept apart because it is the one path without a
staff actor: the citizen is "citizen" in the history, the service itself "system".

Receiving is idempotent on (channel, external_id): the conversation table's unique constraint
decides, inside the transaction that opens the case, so two pollers racing with the same message
leave one case; the loser rolls back and answers with the winner's receipt.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache, cached_property
from typing import Any

import msgspec
import sqlalchemy as sa

from stadspuls.cases import contacts, hours, replies, states
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.places import gazetteer
from stadspuls.cases.records import (
    CASE_KINDS,
    CHANNELS,
    AcceptedMedia,
    Call,
    Case,
    CaseMessage,
    Contact,
    Department,
    InboundMessage,
    RouteDecision,
)
from stadspuls.cases.routing import Router
from stadspuls.cases.views import Receipt
from stadspuls.enrich.language import LanguageIdentifier
from stadspuls.media.intake import store_for_case
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.store import calls as call_store
from stadspuls.store import case_messages, departments, reply_templates, routing_rules
from stadspuls.store import cases as store
from stadspuls.store.rows import to_us

log = logging.getLogger(__name__)
OUT_OF_HOURS = "buiten-kantoortijd"
MAX_TEXT = 50_000  # a long e-mail; the public form caps far lower
MAX_SUBJECT = 300


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_message(message: InboundMessage) -> None:
    """Refuse what no channel should hand over (a bug upstream, or a form bypassed)."""
    if message.channel not in CHANNELS:
        raise ValueError(f"unknown channel {message.channel!r}")
    if message.kind not in CASE_KINDS:
        raise ValueError(f"unknown kind {message.kind!r}; one of {', '.join(CASE_KINDS)}")
    if not message.external_id or len(message.external_id) > 500 or "\x00" in message.external_id:
        raise ValueError("a message needs an external id of at most 500 characters, without NUL")
    if not message.text.strip() and not message.media:
        raise ValueError("an empty message (no text, no photos)")
    if len(message.text) > MAX_TEXT:
        raise ValueError(f"a message is at most {MAX_TEXT} characters")
    if message.received_at.tzinfo is None:
        raise ValueError("received_at must carry a time zone")


def without_nul(message: InboundMessage) -> InboundMessage:
    """NUL characters carry nothing a person wrote and PostgreSQL cannot store them in text:
    they are dropped from what is kept, never the message with them."""
    fields = ("subject", "text", "address", "category")
    changes = {
        name: value.replace("\x00", "")
        for name in fields
        if isinstance(value := getattr(message, name), str) and "\x00" in value
    }
    return msgspec.structs.replace(message, **changes) if changes else message


def reply_route(channel: str, contact: Contact) -> tuple[str, str]:
    """(channel, delivery) of a reply: back where the case came from; a web report by e-mail
    when the citizen gave an address, else on its status page only."""
    if channel == "web":
        return ("email", "queued") if contact.email else ("web", "status_page")
    return channel, "queued"


class CaseLanguages(LanguageIdentifier):
    """The project's identifier (fastText, then lingua for short or unsure texts) with lingua in
    its low-accuracy mode. The full lingua models take about 12 s to load and hold the GIL all
    that time: in the web server that would freeze every request at the first short report.
    The low-accuracy models load in half a second; long texts are fastText's anyway."""

    @cached_property
    def _lingua(self) -> tuple[Any, dict[Any, str]]:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        by_language: dict[Any, str] = {}
        for code in self.languages:
            iso = getattr(IsoCode639_1, code.upper(), None)
            if iso is not None:
                by_language[Language.from_iso_code_639_1(iso)] = code
        if len(by_language) < 2:
            return None, by_language
        builder = LanguageDetectorBuilder.from_languages(*by_language)
        return builder.with_low_accuracy_mode().build(), by_language


@cache
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    """One per process."""
    return CaseLanguages(languages)


class Receiving:
    engine: sa.Engine
    settings: Settings
    sealer: Sealer
    clock: Callable[[], datetime]

    @cached_property
    def admin(self) -> CaseAdmin:
        return CaseAdmin(self.engine, self.settings, clock=self.clock)

    @property
    def _languages(self) -> LanguageIdentifier:
        return _identifier(tuple(self.settings.languages or ("nl", "en")))

    def warm_up(self) -> None:
        """Load the language models and the municipality shapes now (seconds), not on the
        first citizen's report: `stadspuls run` calls it in the background at start."""
        self._languages.warm_up()
        gazetteer()

    def find_conversation(self, channel: str, external_id: str) -> int | None:
        """The case a channel's message belongs to: one received, or a reply we sent (an
        e-mail's In-Reply-To, a reply to our status). For the channels' `in_reply_to_case`."""
        with self.engine.connect() as conn:
            return case_messages.case_of(conn, channel, external_id)

    def receive(self, message: InboundMessage) -> Receipt:
        """Open a case (or add a further message to one: `in_reply_to_case`, or the same
        channel conversation), route it, store its sealed contact and its media, and queue the
        out-of-hours reply when its department is closed. Idempotent on (channel, external_id).
        Raises ValueError for a call that is closed or unknown."""
        message = without_nul(message)
        check_message(message)
        known = self.find_conversation(message.channel, message.external_id)
        if known is not None:
            return self._again(known)
        try:
            if message.in_reply_to_case is not None:
                followed = self._follow_up(message)
                if followed is not None:
                    return followed
            return self._open(message)
        except case_messages.DuplicateMessage:
            # Another poller took the same message between our look and our insert.
            known = self.find_conversation(message.channel, message.external_id)
            assert known is not None
            return self._again(known)

    def _again(self, case_id: int) -> Receipt:
        with self.engine.connect() as conn:
            case = store.get(conn, case_id)
            assert case is not None
            department = departments.get(conn, case.department_id)
        assert department is not None
        return Receipt(
            case_id=case.id, reference=case.reference, created=False, department=department.name
        )

    def _follow_up(self, message: InboundMessage) -> Receipt | None:
        """A further message in the case it answers; None when that case is gone (purged):
        then it opens a case of its own."""
        assert message.in_reply_to_case is not None
        with self.engine.begin() as conn:
            case = store.get(conn, message.in_reply_to_case)
            if case is None:
                return None
            self._add_citizen_message(
                conn, case, channel=message.channel, external_id=message.external_id,
                text=message.text, subject=message.subject, media=message.media,
                at=message.received_at,
            )  # fmt: skip
            department = departments.get(conn, case.department_id)
        assert department is not None
        return Receipt(
            case_id=case.id, reference=case.reference, created=False, department=department.name
        )

    def _add_citizen_message(
        self,
        conn: sa.Connection,
        case: Case,
        *,
        channel: str,
        external_id: str | None,
        text: str,
        subject: str,
        media: Sequence[AcceptedMedia],
        at: datetime | None = None,
    ) -> None:
        now = self.clock()
        message = case_messages.add(
            conn, case.id, direction="in", channel=channel, at=at or now, text=text,
            subject=subject[:MAX_SUBJECT], external_id=external_id,
        )  # fmt: skip
        store.add_event(
            conn, case.id, at=now, actor="citizen", kind="message_in",
            details={"channel": channel, "message": message.id, "media": len(media)},
        )  # fmt: skip
        if media:
            store_for_case(conn, case.id, media)
        target = states.after_citizen_message(case.state, case.assignee_id)
        values: dict[str, object] = {"updated_us": to_us(now)}
        if target != case.state:
            store.add_event(
                conn, case.id, at=now, actor="citizen", kind="state",
                details={"from": case.state, "to": target},
            )  # fmt: skip
            values.update(state=target, closed_us=None)
        store.update(conn, case.id, **values)

    def _identify(self, message: InboundMessage) -> str | None:
        text = f"{message.subject}\n{message.text}".strip()
        if not text:
            return None
        language, _score = self._languages.identify([text])[0]
        return language

    @cached_property
    def _fallback_id(self) -> int:
        """Created once per process (with the built-in templates), then only read."""
        fallback = self.admin.ensure_fallback()
        assert fallback.id is not None
        return fallback.id

    def _decide(
        self, message: InboundMessage, call: Call | None, language: str | None, place: str | None
    ) -> RouteDecision:
        if call is not None:
            return RouteDecision(
                department_id=call.department_id,
                rule_id=None,
                explanation=f"tip bij oproep '{call.title}': naar de afdeling van de oproep",
            )
        with self.engine.connect() as conn:
            rules = routing_rules.list_all(conn, active_only=True)
        router = Router(rules, fallback_department_id=self._fallback_id)
        return router.decide(message, language=language, place_code=place)

    def _open(self, message: InboundMessage) -> Receipt:
        call = None
        if message.call_slug:
            call = self.admin.open_call(message.call_slug)
            if call is None:
                raise ValueError(f"no open call {message.call_slug!r}")
        language = (message.language or "").lower() or self._identify(message)
        found = gazetteer().locate(
            lat=message.lat, lon=message.lon, address=message.address, text=message.text
        )
        decision = self._decide(message, call, language, found.code if found else None)
        now = self.clock()
        token = secrets.token_urlsafe(32) if message.channel == "web" else None
        with self.engine.begin() as conn:
            department = departments.get(conn, decision.department_id)
            if department is None or not department.active:
                fallback = departments.get(conn, self._fallback_id)
                assert fallback is not None
                assert fallback.id is not None
                decision = RouteDecision(
                    department_id=fallback.id,
                    rule_id=None,
                    explanation=f"{decision.explanation}; die afdeling is niet actief: "
                    f"naar {fallback.name}",
                )
                department = fallback
            case = store.insert(
                conn,
                Case(
                    id=0,
                    reference="",
                    channel=message.channel,
                    kind="tip" if call is not None else message.kind,
                    state="new",
                    department_id=decision.department_id,
                    rule_id=decision.rule_id,
                    route_explanation=decision.explanation,
                    call_id=None if call is None else call.id,
                    subject=message.subject[:MAX_SUBJECT],
                    text=message.text,
                    language=language,
                    category=message.category,
                    lat=message.lat,
                    lon=message.lon,
                    address=message.address,
                    place_code=found.code if found else None,
                    place_name=found.name if found else None,
                    occurred_at=message.occurred_at,
                    answers=dict(message.answers),
                    created_at=now,
                    updated_at=now,
                    first_response_due=hours.due(now, department.first_response_hours),
                    resolution_due=hours.due(now, department.resolution_hours),
                ),
                status_token_hash=None if token is None else _hash(token),
            )
            store.add_event(
                conn, case.id, at=now, actor="citizen", kind="created",
                details={"channel": message.channel,
                         "call": None if call is None else call.slug,
                         "place": None if found is None else f"{found.code} ({found.how})"},
            )  # fmt: skip
            store.add_event(
                conn, case.id, at=now, actor="system", kind="routed",
                details={"rule": decision.rule_id, "department": department.id,
                         "explanation": decision.explanation},
            )  # fmt: skip
            case_messages.add(
                conn, case.id, direction="in", channel=message.channel, at=message.received_at,
                text=message.text, subject=message.subject[:MAX_SUBJECT],
                external_id=message.external_id,
            )  # fmt: skip
            if not contacts.is_empty(message.contact):
                store.save_contact(
                    conn, case.id, contacts.seal(self.sealer, case.id, message.contact)
                )
            if message.media:
                store_for_case(conn, case.id, message.media)
            auto_reply, opens_at = None, None
            if not hours.is_open(department.hours, now):
                opens_at = hours.next_opening(department.hours, now)
                # Without the token: a reply's text is stored, and the token may be kept only
                # hashed ({statuslink} stays empty; the thank-you page shows the link).
                sent = self._auto_reply(conn, case, department, message.contact, call)
                auto_reply = None if sent is None else sent.text
        return Receipt(
            case_id=case.id,
            reference=case.reference,
            created=True,
            department=department.name,
            status_token=token,
            auto_reply=auto_reply,
            opens_at=opens_at,
        )

    def _call(self, conn: sa.Connection, call_id: int | None) -> Call | None:
        return None if call_id is None else call_store.get(conn, call_id)

    def status_link(self, token: str) -> str:
        base = self.settings.inbox.public_url or f"http://{self.settings.host}:{self.settings.port}"
        return f"{base.rstrip('/')}/status/{token}"

    def template_values(
        self,
        case: Case,
        department: Department,
        contact: Contact,
        *,
        call: Call | None,
        token: str | None,
    ) -> dict[str, str]:
        """What a reply template's placeholders are filled with for `case`."""
        language = "en" if (case.language or "").startswith("en") else "nl"
        now = self.clock()
        opens = (
            None
            if hours.is_open(department.hours, now)
            else hours.next_opening(department.hours, now)
        )
        inbox = self.settings.inbox
        return {
            "naam": contact.name or "",
            "referentie": case.reference,
            "afdeling": department.name,
            "openingstijden": hours.describe(department.hours, language),
            "volgende_opening": ""
            if opens is None
            else hours.describe_moment(opens, language, department.hours.timezone),
            "statuslink": "" if token is None else self.status_link(token),
            "noodnummer": inbox.emergency_text_en if language == "en" else inbox.emergency_text_nl,
            "oproep": "" if call is None else call.title,
        }

    def _auto_reply(
        self,
        conn: sa.Connection,
        case: Case,
        department: Department,
        contact: Contact,
        call: Call | None,
    ) -> CaseMessage | None:
        """Queue the out-of-hours reply: when the department opens, its hours, and what to do
        in an emergency. A missing or broken template is logged and costs the citizen only
        this reply, never the case."""
        name = department.auto_reply_template or OUT_OF_HOURS
        template = reply_templates.for_reply(conn, name, case.language, department.id)
        if template is None and name != OUT_OF_HOURS:
            template = reply_templates.for_reply(conn, OUT_OF_HOURS, case.language, department.id)
        if template is None:
            log.warning(
                "no out-of-hours template %r: case %s gets no automatic reply", name, case.reference
            )
            return None
        values = self.template_values(case, department, contact, call=call, token=None)
        try:
            subject = replies.render(template.subject, values, language=template.language)
            body = replies.render(template.body, values, language=template.language)
        except replies.TemplateError as error:
            log.warning("out-of-hours template %r cannot be filled: %s", template.name, error)
            return None
        now = self.clock()
        message = self._queue_out(
            conn, case, contact, text=body, subject=subject, template=template.name,
            author="system", at=now,
        )  # fmt: skip
        store.add_event(
            conn, case.id, at=now, actor="system", kind="auto_reply",
            details={"template": template.name, "channel": message.channel,
                     "delivery": message.delivery, "message": message.id},
        )  # fmt: skip
        return message

    def _queue_out(
        self,
        conn: sa.Connection,
        case: Case,
        contact: Contact,
        *,
        text: str,
        subject: str,
        template: str | None,
        author: str,
        at: datetime,
    ) -> CaseMessage:
        channel, delivery = reply_route(case.channel, contact)
        return case_messages.add(
            conn, case.id, direction="out", channel=channel, at=at, text=text,
            subject=subject[:MAX_SUBJECT], author=author, template=template, delivery=delivery,
        )  # fmt: skip
