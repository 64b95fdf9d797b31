"""What a volunteer receives for a call-out: the web push payload (what the service worker
shows, with accept/decline actions) and the e-mail (Dutch, with English below it), both
carrying the signed answer links."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import msgspec

from stadspuls.store.callout_notifications import Notification
from stadspuls.volunteers.callouts import km_text

# The public answer page (web/routes: the volunteers' pages): GET shows the call-out and asks
# to confirm the answer; nothing is recorded by merely opening it.
ANSWER_PATH = "/vrijwilligers/antwoord/"
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_encode = msgspec.json.Encoder().encode


def answer_urls(base_url: str, tokens: dict[str, str]) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {answer: f"{base}{ANSWER_PATH}{token}" for answer, token in tokens.items()}


def _until(expires_us: int) -> str:
    return datetime.fromtimestamp(expires_us / 1e6, tz=UTC).astimezone(_AMSTERDAM).strftime("%H:%M")


def push_payload(n: Notification, urls: dict[str, str], lang: str = "nl") -> bytes:
    """JSON for the service worker: title, body, the page to open, the two actions."""
    where = f" ({n.place_label})" if n.place_label else ""
    distance = km_text(n.distance_m / 1000)
    if lang == "en":
        body = f"{n.message}\n{distance} from you{where}, until {_until(n.expires_us)}."
        actions = [
            {"action": "accepted", "title": "I'm coming", "url": urls["accepted"]},
            {"action": "declined", "title": "Can't", "url": urls["declined"]},
        ]
    else:
        body = f"{n.message}\n{distance} van u{where}, tot {_until(n.expires_us)}."
        actions = [
            {"action": "accepted", "title": "Ik kom", "url": urls["accepted"]},
            {"action": "declined", "title": "Kan niet", "url": urls["declined"]},
        ]
    return _encode(
        {
            "title": n.title,
            "body": body,
            "url": urls["accepted"],
            "tag": f"callout-{n.callout_id}",
            "callout_id": n.callout_id,
            "actions": actions,
            "arrived": urls["arrived"],
        }
    )


def email_message(
    n: Notification, urls: dict[str, str], *, sender: str, to: str, name: str
) -> EmailMessage:
    """The call-out by e-mail: Dutch first, English below, the three answer links."""
    message = EmailMessage()
    message["Subject"] = f"Oproep / call-out: {n.title}"
    message["From"] = sender
    message["To"] = to
    message["Auto-Submitted"] = "auto-generated"
    where = f" ({n.place_label})" if n.place_label else ""
    distance = km_text(n.distance_m / 1000)
    until = _until(n.expires_us)
    message.set_content(
        f"""Beste {name},

Er is een oproep voor hulp in uw buurt, {distance} van u{where}:

{n.message}

Kunt u helpen? Antwoord met een van deze links (geldig tot na {until}):
  Ik kom:          {urls["accepted"]}
  Ik kan niet:     {urls["declined"]}
  Ik ben er:       {urls["arrived"]}

Bel bij levensgevaar altijd eerst 112.
U krijgt dit bericht omdat u zich als vrijwilliger hebt aangemeld; via de link in uw
bevestigingsmail pauzeert of stopt u op elk moment.

--
Dear {name},

There is a call for help near you, {distance} away{where}:

{n.message}

Can you help? Answer with one of these links (valid until after {until}):
  I'm coming:      {urls["accepted"]}
  I can't:         {urls["declined"]}
  I have arrived:  {urls["arrived"]}

In a life-threatening situation always call 112 first.
"""
    )
    return message
