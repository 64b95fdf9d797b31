"""What the publishing pages share: the service on `app.state.publish`, the states as the staff
name them, the channels' names, a publication's history told in words, and the response chart's
numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from stadspuls.publish.records import PublicationEvent, ResponseCount
from stadspuls.publish.service import PublishService

# What an author may still change (a rejected one goes back to draft when edited).
EDITABLE = ("draft", "rejected")
# What may still be cancelled.
CANCELLABLE = ("draft", "pending", "rejected", "approved")
# The list's tabs, in the order work flows; "other" holds rejected and cancelled ones.
TABS: dict[str, tuple[str, ...]] = {
    "draft": ("draft", "rejected"),
    "pending": ("pending",),
    "approved": ("approved",),
    "published": ("published",),
    "cancelled": ("cancelled",),
}
# English source texts of the states and channels (translated in the templates).
STATE_LABELS = {
    "draft": "Draft",
    "pending": "Awaiting approval",
    "rejected": "Rejected",
    "approved": "Scheduled",
    "published": "Published",
    "cancelled": "Cancelled",
}
TAB_LABELS = {
    "draft": "Drafts",
    "pending": "Awaiting approval",
    "approved": "Scheduled",
    "published": "Published",
    "cancelled": "Cancelled",
}
TARGET_LABELS = {"news": "News page and feeds", "mastodon": "Mastodon", "bluesky": "Bluesky"}
EVENT_LABELS = {
    "created": "created it",
    "edited": "edited it",
    "submitted": "submitted it for approval",
    "approved": "approved it",
    "rejected": "rejected it",
    "cancelled": "cancelled it",
    "scheduled": "scheduled it",
    "published": "published it",
    "delivered": "delivered it",
    "delivery_failed": "could not deliver it",
}


def publish_of(request: Request) -> PublishService:
    found: PublishService = request.app.state.publish
    return found


def target_label(target: str) -> str:
    """A channel's name in English source text ("webhook:site" is the webhook "site")."""
    if target.startswith("webhook:"):
        return "Webhook " + target.partition(":")[2]
    return TARGET_LABELS.get(target, target)


def history(events: Sequence[PublicationEvent]) -> list[dict[str, Any]]:
    """The events, newest first, each with what it says beside who and when."""
    told = []
    for event in sorted(events, key=lambda e: (e.at, e.id), reverse=True):
        details = dict(event.details)
        extra = []
        for key in ("reason", "target", "url", "error", "at"):
            if details.get(key) not in (None, ""):
                extra.append((key, str(details[key])))
        fields = details.get("fields")
        if event.kind == "edited" and isinstance(fields, list | tuple):
            extra.append(("fields", ", ".join(str(f) for f in fields)))
        told.append(
            {
                "event": event,
                "label": EVENT_LABELS.get(event.kind, event.kind),
                "crisis": bool(details.get("crisis")),
                "final": bool(details.get("final")),
                "extra": extra,
            }
        )
    return told


def chart_of(counts: Sequence[ResponseCount]) -> dict[str, list[float | None]]:
    """The response per hour as the chart script reads it: x in Unix seconds, one list per
    series (the monitor's volume None where there is no monitor)."""
    return {
        "x": [c.hour.timestamp() for c in counts],
        "replies": [float(c.replies) for c in counts],
        "reposts": [float(c.reposts + c.quotes) for c in counts],
        "links": [float(c.links) for c in counts],
        "negative": [float(c.negative) for c in counts],
        "positive": [float(c.positive) for c in counts],
        "monitor": [None if c.monitor_posts is None else float(c.monitor_posts) for c in counts],
    }


def any_response(counts: Sequence[ResponseCount]) -> bool:
    return any(c.replies or c.reposts or c.quotes or c.links or c.monitor_posts for c in counts)
