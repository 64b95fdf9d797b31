"""A call-out service on the volunteer register of `tests/volunteers/conftest.py` (same store,
clock and selector), and volunteers placed at known distances from a point in Utrecht."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from stadspuls.records import Actor
from stadspuls.settings import Settings
from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.records import CallOut, Registration
from stadspuls.volunteers.registry import VolunteerService
from tests.volunteers.conftest import BASE, Register

# The Domplein, Utrecht.
DOM = (52.0907, 5.1214)
OPERATOR = Actor(user_id=None, username="meldkamer", role="analyst", via="cli")
VIEWER = Actor(user_id=None, username="kijker", role="viewer", via="cli")


def east_of(point: tuple[float, float], km: float) -> tuple[float, float]:
    """A point `km` due east (close enough for a few km)."""
    lat, lon = point
    return lat, lon + km / (111.32 * math.cos(math.radians(lat)))


@dataclass
class CallOuts:
    register: Register
    service: CallOutService

    def volunteer(self, km: float, name: str, **changes: object) -> int:
        """A confirmed volunteer `km` east of the Dom."""
        lat, lon = east_of(DOM, km)
        values: dict[str, object] = {"name": name, "lat": lat, "lon": lon, "postcode": None}
        return self.register.join(email=f"{name.lower()}@example.org", **(values | changes))

    def callout(self, **changes: object) -> CallOut:
        values: dict[str, object] = {
            "title": "Vermist kind",
            "message": "Jongen van 8, rode jas, laatst gezien bij de Dom.",
            "lat": DOM[0],
            "lon": DOM[1],
            "radius_km": 5.0,
            "wanted": 30,
            "expires_at": self.register.clock.now + timedelta(hours=1),
        } | changes
        return self.service.create(OPERATOR, CallOut(**values))  # type: ignore[arg-type]


def callouts_on(register: Register, settings: Settings) -> CallOuts:
    service = CallOutService(
        register.engine,
        settings,
        selector=register.selector,
        link_key=os.urandom(32),
        clock=register.clock,
        volunteers=register.service,
    )
    return CallOuts(register, service)


def enlist(
    volunteers: VolunteerService,
    mails: list[EmailMessage],
    name: str,
    km: float,
    **changes: object,
) -> int:
    """Register and confirm a volunteer `km` east of the Dom through the register's own door
    (its mails kept in `mails`); their id."""
    lat, lon = east_of(DOM, km)
    values: dict[str, object] = {
        "name": name, "email": f"{name.lower()}@example.org", "lat": lat, "lon": lon,
        "radius_km": 5.0, "consent": True,
    } | changes  # fmt: skip
    volunteer = volunteers.register(Registration(**values), base_url=BASE)  # type: ignore[arg-type]
    link = next(w for w in mails[-1].get_content().split() if w.startswith(BASE))
    volunteers.confirm(link.rsplit("/", 1)[1])
    assert volunteer.id is not None
    return volunteer.id
