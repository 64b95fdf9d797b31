"""Volunteers: register (e-mail confirmed), see and change their own data through a signed
link, pause, leave (deleting everything), and the retention purge.

The private part (name, e-mail, home point, push subscriptions) is sealed under the volunteers'
own key with the context "volunteer:<id>"; the row keeps the e-mail only as a keyed hash (one
registration per address) and the home only as blind cells (`cells.py`). docs/volunteers.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import msgspec
import sqlalchemy as sa

from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.store import volunteers as store
from stadspuls.store.rows import to_us
from stadspuls.store.schema import volunteers as volunteers_table
from stadspuls.volunteers import checks, mails
from stadspuls.volunteers.cells import CellIndex
from stadspuls.volunteers.errors import AlreadyRegistered, BadLink, VolunteerError
from stadspuls.volunteers.locate import locate
from stadspuls.volunteers.records import (
    HistoryItem,
    Location,
    PushSubscription,
    Registration,
    Volunteer,
    VolunteerPrivate,
    WeeklySpan,
)
from stadspuls.volunteers.retention import purge
from stadspuls.volunteers.tokens import Signer

log = logging.getLogger(__name__)

# Hands one e-mail to the SMTP server (stadspuls.smtp); raises on failure.
SendMail = Callable[[EmailMessage], None]

MANAGE_LINK_DAYS = 30
MAX_PUSH = 5  # browsers per volunteer
_encode = msgspec.json.Encoder().encode
_decode_private = msgspec.json.Decoder(VolunteerPrivate).decode


class VolunteerService:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        sealer: Sealer,
        index_key: bytes,
        send_mail: SendMail | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._config = settings.volunteers
        self._sealer = sealer
        self._cells = CellIndex(index_key)
        self._signer = Signer(index_key)
        self._email_key = hmac.new(index_key, b"stadspuls volunteer e-mail", "sha256").digest()
        self._send_mail = send_mail
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sender = settings.smtp.sender if settings.smtp else "stadspuls@localhost"

    # -- helpers ---------------------------------------------------------------------------

    def email_hash(self, email: str) -> str:
        normal = email.strip().lower()
        return hmac.new(self._email_key, normal.encode(), "sha256").hexdigest()

    def _seal(self, conn: sa.Connection, volunteer_id: int, private: VolunteerPrivate) -> None:
        cell, coarse = self._cells.of_point(private.lat, private.lon)
        sealed = self._sealer.seal(_encode(private).decode(), f"volunteer:{volunteer_id}")
        store.update(conn, volunteer_id, sealed=sealed, cell=cell, cell_coarse=coarse)

    def _open(self, row: sa.RowMapping) -> VolunteerPrivate:
        return _decode_private(self._sealer.open(row["sealed"], f"volunteer:{row['id']}"))

    def _row(self, conn: sa.Connection, volunteer_id: int) -> sa.RowMapping:
        found = store.row(conn, volunteer_id)
        if found is None:
            raise BadLink("Deze inschrijving bestaat niet (meer).", expired=True)
        return found

    def _radius(self, radius_km: float) -> float:
        low, high = self._config.min_radius_km, self._config.max_radius_km
        if not low <= radius_km <= high:
            raise VolunteerError(
                f"Kies een straal van {low:g} tot {high:g} km (niet {radius_km:g} km).",
                field="radius_km",
            )
        return float(radius_km)

    def _mail(self, kind: str, private: VolunteerPrivate, lang: str, link: str) -> None:
        if self._send_mail is None:
            raise VolunteerError("Stadspuls kan nu geen e-mail versturen.", field="email")
        message = mails.compose(
            kind,
            to=private.email,
            sender=self._sender,
            lang=lang,
            name=private.name,
            link=link,
            hours=int(self._config.unconfirmed_hours),
            days=MANAGE_LINK_DAYS,
        )
        self._send_mail(message)

    # -- the volunteer's own actions ---------------------------------------------------------

    def locate(
        self,
        *,
        lat: float | None = None,
        lon: float | None = None,
        postcode: str | None = None,
        place: str | None = None,
    ) -> Location:
        """Exactly one way: a point, a 4-digit postcode or a place name; inside the Netherlands
        (a municipality contains it), else VolunteerError naming the field."""
        return locate(lat=lat, lon=lon, postcode=postcode, place=place)

    def register(self, registration: Registration, *, base_url: str) -> Volunteer:
        """Store a pending volunteer and mail the confirmation link
        (`{base_url}/vrijwilligers/bevestig/{token}`). AlreadyRegistered for a known address."""
        r = registration
        if not r.consent:
            raise VolunteerError(
                "Zonder je toestemming slaan we niets op: vink de toestemming aan.",
                field="consent",
            )
        name = checks.name(r.name)
        email = checks.email(r.email)
        radius = self._radius(r.radius_km)
        location = self.locate(lat=r.lat, lon=r.lon, postcode=r.postcode, place=r.place)
        values = checks.profile(r.skills, r.availability, r.channels, r.lang)
        private = VolunteerPrivate(
            name=name,
            email=email,
            lat=location.lat,
            lon=location.lon,
            place_label=location.label if (r.postcode or r.place) else "",
            push=(r.push,) if r.push is not None else (),
        )
        token = secrets.token_urlsafe(24)
        now = to_us(self._clock())
        try:
            with self._engine.begin() as conn:
                if store.id_by(conn, "email_hash", self.email_hash(email)) is not None:
                    raise AlreadyRegistered(
                        "Dit e-mailadres is al aangemeld. We kunnen je een link naar je eigen "
                        "pagina mailen.",
                        field="email",
                    )
                volunteer_id = store.insert(
                    conn,
                    email_hash=self.email_hash(email),
                    radius_km=radius,
                    state="pending",
                    verify_hash=_sha256(token),
                    consent_version=self._config.consent_version,
                    consent_us=now,
                    created_us=now,
                    updated_us=now,
                    **values,
                )
                self._seal(conn, volunteer_id, private)
        except sa.exc.IntegrityError as error:  # the same address, registered at the same time
            raise AlreadyRegistered("Dit e-mailadres is al aangemeld.", field="email") from error
        try:
            link = f"{base_url.rstrip('/')}/vrijwilligers/bevestig/{token}"
            self._mail("confirm", private, str(values["lang"]), link)
        except Exception as error:
            # Without the mail the registration can never be confirmed: take it back.
            with self._engine.begin() as conn:
                store.delete(conn, [volunteer_id])
            if isinstance(error, VolunteerError):
                raise
            log.warning("confirmation mail not sent: %s", error)
            raise VolunteerError(
                "De bevestigingsmail kon niet worden verstuurd; probeer het later opnieuw.",
                field="email",
            ) from error
        return self.get(volunteer_id)

    def confirm(self, token: str) -> Volunteer:
        """Make a pending registration active. BadLink for an unknown or used token."""
        now = self._clock()
        with self._engine.begin() as conn:
            volunteer_id = store.id_by(conn, "verify_hash", _sha256(token))
            if volunteer_id is None:
                raise BadLink("Deze bevestigingslink is onbekend of al gebruikt.")
            row = self._row(conn, volunteer_id)
            age = now - store.volunteer(row).created_at  # type: ignore[operator]
            if age > timedelta(hours=self._config.unconfirmed_hours):
                raise BadLink("Deze bevestigingslink is verlopen.", expired=True)
            store.update(
                conn,
                volunteer_id,
                state="active",
                verify_hash=None,
                verified_us=to_us(now),
                updated_us=to_us(now),
            )
        return self.get(volunteer_id)

    def manage_token(self, volunteer_id: int) -> str:
        """A signed token for the volunteer's own page (`/vrijwilligers/ik/{token}`)."""
        expires = self._clock() + timedelta(days=MANAGE_LINK_DAYS)
        return self._signer.sign("manage", str(volunteer_id), expires)

    def open_manage_token(self, token: str) -> int:
        """The volunteer id of a manage token; BadLink when forged or expired. Opening one
        counts as hearing from the volunteer (retention)."""
        subject = self._signer.open("manage", token, now=self._clock())
        volunteer_id = int(subject)
        self.touch(volunteer_id)
        return volunteer_id

    def touch(self, volunteer_id: int) -> None:
        """The volunteer was heard of (their page, an answer): the inactivity clock restarts."""
        with self._engine.begin() as conn:
            if not store.update(conn, volunteer_id, updated_us=to_us(self._clock())):
                raise BadLink("Deze inschrijving bestaat niet (meer).", expired=True)

    def mail_manage_link(self, email: str, *, base_url: str) -> None:
        """Mail a manage link to a registered address; the same silence for an unknown one.
        A registration still pending gets a fresh confirmation link instead."""
        base = base_url.rstrip("/")
        with self._engine.begin() as conn:
            volunteer_id = store.id_by(conn, "email_hash", self.email_hash(email))
            if volunteer_id is None:
                return
            row = self._row(conn, volunteer_id)
            private = self._open(row)
            if row["state"] == "pending":
                token = secrets.token_urlsafe(24)
                store.update(conn, volunteer_id, verify_hash=_sha256(token))
                kind, link = "confirm", f"{base}/vrijwilligers/bevestig/{token}"
            else:
                kind, link = "manage", f"{base}/vrijwilligers/ik/{self.manage_token(volunteer_id)}"
        self._mail(kind, private, row["lang"], link)

    def get(self, volunteer_id: int, *, private: bool = False) -> Volunteer:
        with self._engine.connect() as conn:
            row = self._row(conn, volunteer_id)
        found = store.volunteer(row)
        return msgspec.structs.replace(found, private=self._open(row)) if private else found

    def update(
        self,
        volunteer_id: int,
        *,
        name: str | None = None,
        location: Location | None = None,
        radius_km: float | None = None,
        skills: tuple[str, ...] | None = None,
        availability: tuple[WeeklySpan, ...] | None = None,
        channels: tuple[str, ...] | None = None,
        lang: str | None = None,
    ) -> Volunteer:
        with self._engine.begin() as conn:
            row = self._row(conn, volunteer_id)
            current = store.volunteer(row)
            values = checks.profile(
                current.skills if skills is None else skills,
                current.availability if availability is None else availability,
                current.channels if channels is None else channels,
                current.lang if lang is None else lang,
            )
            if radius_km is not None:
                values["radius_km"] = self._radius(radius_km)
            store.update(conn, volunteer_id, updated_us=to_us(self._clock()), **values)
            if name is not None or location is not None:
                private = self._open(row)
                if name is not None:
                    private = msgspec.structs.replace(private, name=checks.name(name))
                if location is not None:
                    checked = locate(lat=location.lat, lon=location.lon)  # still in the country
                    private = msgspec.structs.replace(
                        private, lat=checked.lat, lon=checked.lon, place_label=location.label
                    )
                self._seal(conn, volunteer_id, private)
        return self.get(volunteer_id)

    def add_push(self, volunteer_id: int, subscription: PushSubscription) -> None:
        with self._engine.begin() as conn:
            row = self._row(conn, volunteer_id)
            private = self._open(row)
            kept = [p for p in private.push if p.endpoint != subscription.endpoint]
            pushes = (*kept[-(MAX_PUSH - 1) :], subscription)
            self._seal(conn, volunteer_id, msgspec.structs.replace(private, push=pushes))

    def remove_push(self, endpoint: str, *, volunteer_id: int | None = None) -> int:
        """Drop a push subscription wherever it is (the push service said it is gone). With
        `volunteer_id` (the notifier knows whose it was) only that row is opened; without it
        every row with the push channel is (the endpoint is sealed: no index finds it)."""
        removed = 0
        with self._engine.begin() as conn:
            if volunteer_id is not None:
                ids = [volunteer_id]
            else:
                ids = store.ids_where(conn, volunteers_table.c.channels.contains('"push"'))
            for row in store.rows(conn, ids):
                private = self._open(row)
                kept = tuple(p for p in private.push if p.endpoint != endpoint)
                if len(kept) != len(private.push):
                    removed += len(private.push) - len(kept)
                    self._seal(conn, int(row["id"]), msgspec.structs.replace(private, push=kept))
        return removed

    def pause(self, volunteer_id: int) -> Volunteer:
        return self._set_state(volunteer_id, "paused", from_state="active")

    def resume(self, volunteer_id: int) -> Volunteer:
        return self._set_state(volunteer_id, "active", from_state="paused")

    def _set_state(self, volunteer_id: int, state: str, *, from_state: str) -> Volunteer:
        with self._engine.begin() as conn:
            row = self._row(conn, volunteer_id)
            if row["state"] == "pending":
                raise VolunteerError("Bevestig eerst je e-mailadres.", field="state")
            if row["state"] == from_state:
                store.update(conn, volunteer_id, state=state, updated_us=to_us(self._clock()))
        return self.get(volunteer_id)

    def leave(self, volunteer_id: int) -> None:
        """Delete the volunteer: their row goes; call-out targets keep only rank, distance and
        answer, with no one to link them to."""
        with self._engine.begin() as conn:
            store.delete(conn, [volunteer_id])

    def history(self, volunteer_id: int) -> list[HistoryItem]:
        with self._engine.connect() as conn:
            self._row(conn, volunteer_id)
            return store.history(conn, volunteer_id)

    def open_private(self, volunteer_ids: list[int]) -> dict[int, Volunteer]:
        """Volunteers with their sealed part opened, for the notifier (never for a page)."""
        with self._engine.connect() as conn:
            found = store.rows(conn, volunteer_ids)
        return {
            int(row["id"]): msgspec.structs.replace(store.volunteer(row), private=self._open(row))
            for row in found
        }

    def counts(self) -> dict[str, int]:
        """Aggregate only: how many volunteers in each state (no list exists)."""
        with self._engine.connect() as conn:
            return store.counts(conn)

    def purge(self, now: datetime | None = None, *, base_url: str = "") -> dict[str, int]:
        """Retention: unconfirmed registrations, inactive volunteers (after a reminder), ended
        call-outs. Returns counts by kind. The reminders' links start with `base_url`, else
        [inbox] public_url."""
        base = base_url or self._settings.inbox.public_url or "http://localhost:8000"
        return purge(self, self._engine, self._config, now or self._clock(), base_url=base)

    # -- for the retention module --------------------------------------------------------------

    def _remind(self, conn: sa.Connection, row: sa.RowMapping, now: datetime, base: str) -> bool:
        """Mail an inactive volunteer whether they want to stay; False when it could not go."""
        private = self._open(row)
        token = self.manage_token(int(row["id"]))
        try:
            self._mail("reminder", private, row["lang"], f"{base}/vrijwilligers/ik/{token}")
        except Exception as error:  # the next purge tries again
            log.warning("reminder for volunteer %s not sent: %s", row["id"], error)
            return False
        self._seal(conn, int(row["id"]), msgspec.structs.replace(private, reminded_at=now))
        return True

    def _reminded_at(self, row: sa.RowMapping) -> datetime | None:
        return self._open(row).reminded_at


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
