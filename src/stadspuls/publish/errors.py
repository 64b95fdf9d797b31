"""What publishing refuses: input that cannot be published, and a change the publication's
state does not allow. Importable from `publish.service` as well (the web maps them to 422/409)."""

from __future__ import annotations


class PublishError(ValueError):
    """Input that cannot be published: empty, too long for a target, unknown target, a schedule
    in the past, alt text missing. `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PublishStateError(RuntimeError):
    """The publication's state does not allow it (approving one's own without crisis mode,
    editing a published one)."""
