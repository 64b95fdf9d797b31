"""What the volunteer and call-out services refuse, with a message a citizen or operator can act
on (the web maps VolunteerError to 422, AlreadyRegistered to 409, BadLink to 400/410)."""

from __future__ import annotations


class VolunteerError(ValueError):
    """Bad input: an unknown postcode, a point outside the Netherlands, a radius out of bounds,
    no consent, an unknown skill. `field` names the form field it is about, if one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AlreadyRegistered(VolunteerError):
    """That e-mail address is registered already (the page offers to mail a manage link)."""


class BadLink(ValueError):
    """A signed link that is forged, for another purpose, or expired (`expired` True)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
