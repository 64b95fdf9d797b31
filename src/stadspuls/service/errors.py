"""What the read service refuses, in words the web (status codes) and the CLI can pass on."""

from __future__ import annotations

from stadspuls.access.roles import Forbidden

__all__ = ["Forbidden", "NotFound", "ReasonRequired"]


class NotFound(LookupError):
    """No such monitor, post or alert (or none this actor may know of)."""


class ReasonRequired(ValueError):
    """Re-identification and opening an original need a stated reason, for the audit log."""
