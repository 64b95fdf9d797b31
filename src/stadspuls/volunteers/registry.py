"""Volunteers: register (e-mail confirmed), see and change their own data through a signed
link, pause, leave (deleting everything), and the retention purge. CONTRACT STUB: the helper
that owns this module replaces every NotImplementedError; signatures may gain keyword
arguments, not lose them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa

from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.volunteers.records import (
    HistoryItem,
    Location,
    PushSubscription,
    Registration,
    Volunteer,
    WeeklySpan,
)

# Hands one e-mail to the SMTP server (stadspuls.smtp); raises on failure.
SendMail = Callable[[EmailMessage], None]


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
        raise NotImplementedError

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
        raise NotImplementedError

    def register(self, registration: Registration, *, base_url: str) -> Volunteer:
        """Store a pending volunteer and mail the confirmation link
        (`{base_url}/vrijwilligers/bevestig/{token}`). AlreadyRegistered for a known address."""
        raise NotImplementedError

    def confirm(self, token: str) -> Volunteer:
        """Make a pending registration active. BadLink for an unknown or used token."""
        raise NotImplementedError

    def manage_token(self, volunteer_id: int) -> str:
        """A signed token for the volunteer's own page (`/vrijwilligers/ik/{token}`)."""
        raise NotImplementedError

    def open_manage_token(self, token: str) -> int:
        """The volunteer id of a manage token; BadLink when forged or expired."""
        raise NotImplementedError

    def mail_manage_link(self, email: str, *, base_url: str) -> None:
        """Mail a manage link to a registered address; the same silence for an unknown one."""
        raise NotImplementedError

    def get(self, volunteer_id: int, *, private: bool = False) -> Volunteer:
        raise NotImplementedError

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
        raise NotImplementedError

    def add_push(self, volunteer_id: int, subscription: PushSubscription) -> None:
        raise NotImplementedError

    def remove_push(self, endpoint: str) -> int:
        """Drop a push subscription wherever it is (the push service said it is gone)."""
        raise NotImplementedError

    def pause(self, volunteer_id: int) -> Volunteer:
        raise NotImplementedError

    def resume(self, volunteer_id: int) -> Volunteer:
        raise NotImplementedError

    def leave(self, volunteer_id: int) -> None:
        """Delete the volunteer: their row goes; call-out targets keep only rank, distance and
        answer, with no one to link them to."""
        raise NotImplementedError

    def history(self, volunteer_id: int) -> list[HistoryItem]:
        raise NotImplementedError

    def open_private(self, volunteer_ids: list[int]) -> dict[int, Volunteer]:
        """Volunteers with their sealed part opened, for the notifier (never for a page)."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        """Aggregate only: how many volunteers in each state (no list exists)."""
        raise NotImplementedError

    def purge(self, now: datetime | None = None) -> dict[str, int]:
        """Retention: unconfirmed registrations, inactive volunteers (after a reminder), ended
        call-outs. Returns counts by kind."""
        raise NotImplementedError
