"""Call-outs: an operator asks the nearest available volunteers for help at a point; the
selection, the notifications (queued for the notifier), the answers by signed link, the log.

Every step is written to the call-out's append-only log in the same transaction as the change
it records: created, selected (with the counts of who was excluded and why), sent and
delivery_failed (by the notifier), answered, extended, closed, expired. Staff see the selected
volunteers by rank, distance and skills; a name only once that volunteer accepted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec
import sqlalchemy as sa

from stadspuls.access.roles import check
from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import NotFound
from stadspuls.settings import Settings
from stadspuls.store import callout_notifications as outbox
from stadspuls.store import callouts as store
from stadspuls.store import volunteers as volunteers_store
from stadspuls.store.rows import to_us
from stadspuls.volunteers import answer_links
from stadspuls.volunteers.errors import VolunteerError
from stadspuls.volunteers.locate import locate
from stadspuls.volunteers.records import (
    ANSWERS,
    CALLOUT_STATES,
    CHANNELS,
    MAX_RADIUS_KM,
    MAX_WANTED,
    SKILLS,
    CallOut,
    CallOutEvent,
    Candidate,
    Target,
)
from stadspuls.volunteers.registry import VolunteerService
from stadspuls.volunteers.select import Selector
from stadspuls.volunteers.tokens import Signer

MAX_TITLE = 200
MAX_MESSAGE = 2000
MAX_EXPIRY = timedelta(days=7)
# How the reason names a skill: the Dutch words operators use.
SKILL_WORDS = {
    "first_aid": "EHBO",
    "cpr": "reanimatie",
    "aed": "AED",
    "bhv": "BHV",
    "care": "zorg",
    "car": "auto",
    "lifting": "sjouwen",
    "languages": "talen",
}
assert set(SKILL_WORDS) == set(SKILLS)


def km_text(km: float) -> str:
    """Dutch decimal comma, one decimal below 10 km: "1,2 km", "12 km"."""
    text = f"{km:.1f}" if km < 10 else f"{km:.0f}"
    return f"{text.replace('.', ',').removesuffix(',0')} km"


def reason(candidate: Candidate) -> str:
    """Why this volunteer was selected: "1,2 km; eigen straal 5 km; EHBO, AED"."""
    parts = [km_text(candidate.distance_m / 1000), f"eigen straal {km_text(candidate.radius_km)}"]
    if candidate.skills:
        parts.append(", ".join(SKILL_WORDS[s] for s in candidate.skills if s in SKILL_WORDS))
    return "; ".join(parts)


class CallOutService:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        selector: Selector,
        link_key: bytes,
        clock: Callable[[], datetime] | None = None,
        volunteers: VolunteerService | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.selector = selector
        # The answer links are signed as the volunteers' other links, with their own purpose.
        self.signer = Signer(link_key)
        self.clock = clock or utcnow
        # Opens the name of a volunteer who accepted (for the operator); None shows no names.
        self.volunteers = volunteers

    # -- staff (permission "callouts") ------------------------------------------------------

    def create(self, actor: Actor, callout: CallOut) -> CallOut:
        """Validate (point in NL, radius, skills, wanted, expiry in the future), store, select,
        store the targets with why, queue a notification per target and channel; log it all.
        Needs "callouts"."""
        check(actor, "callouts")
        now = self.clock()
        callout = self._validated(callout, now)
        now_us = to_us(now)
        with self.engine.begin() as conn:
            stored = store.insert(conn, callout, created_by=actor.username, now_us=now_us)
            assert stored.id is not None
            store.add_event(
                conn, stored.id, "created", actor=actor.username, now_us=now_us,
                details={
                    "point": [round(stored.lat, 5), round(stored.lon, 5)],
                    "place": stored.place_label, "radius_km": stored.radius_km,
                    "skills": list(stored.skills), "wanted": stored.wanted,
                    "expires": stored.expires_at.isoformat(),
                },
            )  # fmt: skip
        self._select(actor, stored, stored.wanted, kind="selected")
        return stored

    def get(self, actor: Actor, callout_id: int) -> CallOut:
        check(actor, "callouts")
        with self.engine.connect() as conn:
            return self._get(conn, callout_id)

    def recent(self, actor: Actor, *, state: str | None = None, limit: int = 100) -> list[CallOut]:
        check(actor, "callouts")
        if state is not None and state not in CALLOUT_STATES:
            raise VolunteerError(f"Onbekende toestand {state!r}.", field="state")
        with self.engine.connect() as conn:
            return store.recent(conn, state=state, limit=max(1, min(limit, 1000)))

    def targets(self, actor: Actor, callout_id: int) -> list[Target]:
        check(actor, "callouts")
        with self.engine.connect() as conn:
            self._get(conn, callout_id)
            found = store.targets_of(conn, callout_id)
        return self._with_names(found)

    def events(self, actor: Actor, callout_id: int, *, after_id: int = 0) -> list[CallOutEvent]:
        """The log, oldest first; `after_id` for the live page's updates."""
        check(actor, "callouts")
        with self.engine.connect() as conn:
            self._get(conn, callout_id)
            return store.events_of(conn, callout_id, after_id=after_id)

    def extend(self, actor: Actor, callout_id: int, more: int) -> int:
        """Select up to `more` further volunteers (the next nearest); returns how many."""
        check(actor, "callouts")
        if not 1 <= more <= MAX_WANTED:
            raise VolunteerError(f"Vraag om 1 tot {MAX_WANTED} vrijwilligers meer.", field="more")
        with self.engine.connect() as conn:
            callout = self._get(conn, callout_id)
        if callout.state != "open":
            raise VolunteerError("Deze oproep is niet meer open.", field="state")
        return self._select(actor, callout, more, kind="extended")

    def close(self, actor: Actor, callout_id: int, note: str = "") -> CallOut:
        check(actor, "callouts")
        note = note.strip()[:1000]
        now_us = to_us(self.clock())
        with self.engine.begin() as conn:
            self._get(conn, callout_id)
            if not store.set_state(conn, callout_id, "closed", by=actor.username, now_us=now_us):
                raise VolunteerError("Deze oproep is niet meer open.", field="state")
            store.add_event(
                conn, callout_id, "closed", actor=actor.username, now_us=now_us,
                details={"by": actor.username, "note": note},
            )  # fmt: skip
            return self._get(conn, callout_id)

    # -- volunteers (no login: a signed link) ------------------------------------------------

    def answer_token(self, target_id: int, answer: str) -> str:
        """A signed token for one answer of one target (HMAC, with the call-out's expiry)."""
        with self.engine.connect() as conn:
            target = store.target(conn, target_id)
            callout = None if target is None else store.get(conn, target.callout_id)
        if callout is None:
            raise NotFound(f"no call-out target {target_id}")
        return self.answer_tokens(target_id, callout.expires_at)[answer]

    def answer_tokens(self, target_id: int, expires_at: datetime) -> dict[str, str]:
        """The three answers' tokens of a target, for a call-out expiring at `expires_at`."""
        until = expires_at + timedelta(hours=self.settings.volunteers.answer_grace_hours)
        return {a: answer_links.sign(self.signer, target_id, a, until) for a in ANSWERS}

    def answer(self, token: str) -> Target:
        """Record the answer a token carries. BadLink for a forged or expired token; answering
        twice keeps the latest ("arrived" after "accepted")."""
        now = self.clock()
        target_id, answer = answer_links.open_token(self.signer, token, now)
        now_us = to_us(now)
        with self.engine.begin() as conn:
            target = store.target(conn, target_id, for_update=True)
            if target is None:
                raise NotFound("Deze oproep wordt niet meer bewaard.")
            store.record_answer(conn, target_id, answer, now_us)
            if target.volunteer_id is not None:
                # Heard of: an answer restarts the volunteer's inactivity clock (retention).
                volunteers_store.update(conn, target.volunteer_id, updated_us=now_us)
            store.add_event(
                conn, target.callout_id, "answered", actor="volunteer", now_us=now_us,
                details={"rank": target.rank, "answer": answer, "before": target.answer},
            )  # fmt: skip
            answered = store.target(conn, target_id)
        assert answered is not None
        return answered

    def callout_of(self, target: Target) -> CallOut:
        """The call-out a target belongs to (for the answer page: no actor, the link is proof)."""
        with self.engine.connect() as conn:
            return self._get(conn, target.callout_id)

    # -- the runner ------------------------------------------------------------------------

    def expire_due(self, now: datetime | None = None) -> int:
        now_us = to_us(now or self.clock())
        expired = 0
        with self.engine.begin() as conn:
            for callout_id in store.due_to_expire(conn, now_us):
                if store.set_state(conn, callout_id, "expired", by=None, now_us=now_us):
                    store.add_event(conn, callout_id, "expired", actor="system", now_us=now_us)
                    expired += 1
        return expired

    # -- inside ------------------------------------------------------------------------------

    def _get(self, conn: sa.Connection, callout_id: int) -> CallOut:
        found = store.get(conn, callout_id)
        if found is None:
            raise NotFound(f"no call-out {callout_id}")
        return found

    def _validated(self, callout: CallOut, now: datetime) -> CallOut:
        bounds = self.settings.volunteers
        title, message = callout.title.strip(), callout.message.strip()
        if not title or len(title) > MAX_TITLE:
            raise VolunteerError(f"Geef een titel van hoogstens {MAX_TITLE} tekens.", field="title")
        if not message or len(message) > MAX_MESSAGE:
            raise VolunteerError(
                f"Schrijf een bericht van hoogstens {MAX_MESSAGE} tekens.", field="message"
            )
        found = locate(lat=callout.lat, lon=callout.lon)  # inside the Netherlands, or refused
        low, high = bounds.min_radius_km, min(bounds.max_radius_km, MAX_RADIUS_KM)
        if not (math.isfinite(callout.radius_km) and low <= callout.radius_km <= high):
            raise VolunteerError(
                f"De straal ligt tussen {low:g} en {high:g} km.", field="radius_km"
            )
        if not 1 <= callout.wanted <= MAX_WANTED:
            raise VolunteerError(f"Vraag om 1 tot {MAX_WANTED} vrijwilligers.", field="wanted")
        unknown = [s for s in callout.skills if s not in SKILLS]
        if unknown:
            raise VolunteerError(f"Onbekende vaardigheid {unknown[0]!r}.", field="skills")
        if callout.expires_at.tzinfo is None:
            raise VolunteerError("De eindtijd heeft een tijdzone nodig.", field="expires_at")
        if callout.expires_at <= now:
            raise VolunteerError("De eindtijd moet in de toekomst liggen.", field="expires_at")
        if callout.expires_at > now + MAX_EXPIRY:
            raise VolunteerError("Een oproep loopt hoogstens 7 dagen.", field="expires_at")
        return CallOut(
            title=title,
            message=message,
            lat=callout.lat,
            lon=callout.lon,
            place_label=callout.place_label.strip()[:200] or found.municipality or found.label,
            radius_km=callout.radius_km,
            skills=tuple(dict.fromkeys(callout.skills)),
            wanted=callout.wanted,
            expires_at=callout.expires_at,
            alert_id=callout.alert_id,
        )

    def _select(self, actor: Actor, callout: CallOut, wanted: int, *, kind: str) -> int:
        """Select up to `wanted` more volunteers, store them with why, queue their
        notifications and log it; returns how many were added."""
        assert callout.id is not None
        now = self.clock()
        now_us = to_us(now)
        with self.engine.connect() as conn:
            already = store.selected_volunteers(conn, callout.id)
        selection = self.selector.select(
            lat=callout.lat, lon=callout.lon, radius_km=callout.radius_km,
            skills=callout.skills, wanted=wanted, at=now, exclude=already,
        )  # fmt: skip
        chosen = [(c, reason(c)) for c in selection.candidates[:wanted]]
        with self.engine.begin() as conn:
            added = store.add_targets(conn, callout.id, chosen, now_us=now_us)
            channels = store.channels_of(conn, [c.volunteer_id for c, _ in chosen])
            queued = outbox.queue(
                conn,
                (
                    (target.id, channel)
                    for target in added
                    if target.volunteer_id is not None
                    for channel in channels.get(target.volunteer_id, ())
                    if channel in CHANNELS
                ),
                now_us,
            )
            details: dict[str, object] = {
                "considered": selection.considered,
                "selected": len(added),
                "excluded": dict(selection.excluded),
                "notifications": queued,
            }
            if added:
                details["ranks"] = [added[0].rank, added[-1].rank]
            if kind == "extended":
                details["added"] = len(added)
            store.add_event(
                conn, callout.id, kind, actor=actor.username, now_us=now_us, details=details
            )
        return len(added)

    def _with_names(self, targets: list[Target]) -> list[Target]:
        """Add the name of each volunteer who accepted (or arrived): the operator addresses
        them; nobody else's name is opened."""
        ids = [
            t.volunteer_id
            for t in targets
            if t.volunteer_id is not None and t.answer in ("accepted", "arrived")
        ]
        if not ids or self.volunteers is None:
            return targets
        opened = self.volunteers.open_private(ids)
        named = []
        for t in targets:
            volunteer = opened.get(t.volunteer_id) if t.volunteer_id is not None else None
            if volunteer is not None and volunteer.private is not None and t.volunteer_id in ids:
                named.append(msgspec.structs.replace(t, name=volunteer.private.name))
            else:
                named.append(t)
        return named
